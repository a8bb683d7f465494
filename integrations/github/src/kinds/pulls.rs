//! `pull-request`: per repository, open pull requests (`GET /pulls?state=open`) and, when the
//! selector asks for them, closed ones (`state=closed`, most recently updated first, within
//! `since` days of `updated_at` or since `closedSinceDate` on `closed_at`, at most
//! `maxResults` — 100 by default unless `closedSinceDate` is set — paging stops once past the
//! cutoff). Each item gets `__repository` and `__organization`.

use super::{Env, KindStream, failed, never, now, parse_time, repo_listing};
use crate::client::GithubError;
use crate::repos::Repo;
use crate::selectors::{PrApi, PrState, PullRequestSelector, parse};
use futures::stream::{BoxStream, StreamExt as _};
use serde_json::Value;
use std::sync::Arc;

/// How closed pull requests are chosen.
#[derive(Debug, Clone)]
pub struct ClosedWindow {
    /// Only those updated (or, with `closedSinceDate`, closed) at or after this.
    pub cutoff: time::OffsetDateTime,
    /// Whether the cutoff applies to `closed_at` (else `updated_at`).
    pub on_closed_at: bool,
    /// At most this many per repository.
    pub max: Option<u64>,
}

impl ClosedWindow {
    /// The window a selector describes.
    pub fn of(selector: &PullRequestSelector) -> Result<Self, crate::selectors::SelectorError> {
        if let Some(date) = &selector.closed_since_date {
            let cutoff = parse_time(date).ok_or_else(|| crate::selectors::SelectorError {
                kind: "pull-request".into(),
                reason: format!("field `closedSinceDate`: {date:?} is not an ISO date"),
            })?;
            return Ok(ClosedWindow {
                cutoff,
                on_closed_at: true,
                max: selector.max_results,
            });
        }
        Ok(ClosedWindow {
            cutoff: now() - time::Duration::days(i64::from(selector.since.max(1))),
            on_closed_at: false,
            max: Some(selector.max_results.unwrap_or(100)),
        })
    }

    fn admits(&self, pr: &Value) -> bool {
        let field = if self.on_closed_at {
            "closed_at"
        } else {
            "updated_at"
        };
        pr.get(field)
            .and_then(Value::as_str)
            .and_then(parse_time)
            .is_some_and(|t| t >= self.cutoff)
    }

    fn past(&self, pr: &Value) -> bool {
        pr.get("updated_at")
            .and_then(Value::as_str)
            .and_then(parse_time)
            .is_some_and(|t| t < self.cutoff)
    }
}

/// The pull-request kind.
pub fn pull_requests(env: Env) -> KindStream {
    let selector: PullRequestSelector = match parse("pull-request", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    if selector.api == PrApi::Graphql {
        return super::pulls_graphql::pull_requests(env, selector);
    }
    let window = match ClosedWindow::of(&selector) {
        Ok(w) => Arc::new(w),
        Err(e) => return failed(e),
    };
    let states = selector.states.clone();
    env.per_repo(selector.repo_search.clone(), move |repo| {
        let mut streams: Vec<BoxStream<'static, Result<Vec<Value>, GithubError>>> = Vec::new();
        if states.contains(&PrState::Open) {
            streams.push(open(&repo));
        }
        if states.contains(&PrState::Closed) {
            streams.push(closed(&repo, window.clone()));
        }
        futures::stream::iter(streams).flatten().boxed()
    })
}

fn open(repo: &Repo) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
    repo_listing(
        repo,
        repo.url(&["pulls"]),
        vec![("state", "open".to_owned())],
        None,
        false,
        never,
    )
}

fn closed(
    repo: &Repo,
    window: Arc<ClosedWindow>,
) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
    let pages = repo_listing(
        repo,
        repo.url(&["pulls"]),
        vec![
            ("state", "closed".to_owned()),
            ("sort", "updated".to_owned()),
            ("direction", "desc".to_owned()),
        ],
        None,
        false,
        never,
    );
    Box::pin(async_stream::try_stream! {
        let mut pages = pages;
        let mut taken = 0u64;
        while let Some(page) = pages.next().await {
            let page = page?;
            let past = page.last().is_some_and(|pr| window.past(pr));
            let mut kept = Vec::new();
            for pr in page {
                if window.max.is_some_and(|max| taken >= max) {
                    break;
                }
                if window.admits(&pr) {
                    taken += 1;
                    kept.push(pr);
                }
            }
            if !kept.is_empty() {
                yield kept;
            }
            if past || window.max.is_some_and(|max| taken >= max) {
                break;
            }
        }
    })
}

/// One pull request by number (webhooks), enriched; `None` when it does not exist.
pub async fn pull_request(repo: &Repo, number: u64) -> Result<Option<Value>, GithubError> {
    let url = repo.url(&["pulls", &number.to_string()]);
    Ok(repo
        .client()
        .get_optional(&url, &[], &[])
        .await?
        .map(|pr| repo.enrich(pr, false)))
}
