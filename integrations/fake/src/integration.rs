//! The fake integration itself: the [`Integration`] implementation that pages through the
//! generated catalog.
//!
//! Records are generated page by page as the lifecycle pulls them, so memory stays flat whatever
//! the counts (a 1,000,000-item catalog never exists in memory at once), and a cancelled resync
//! stops generating at the next page. Generation is deliberately cheap — the end-to-end benchmark
//! measures Ocean, not this generator — and happens inline on the runtime: one page of 100
//! records takes well under a millisecond.

use crate::catalog;
use crate::config::FakeConfig;
use crate::items::make_item;
use crate::webhook::{FakeWebhook, WEBHOOK_PATH};
use futures::StreamExt;
use ocean::{FetchContext, FetchError, Integration, Page, PageStream, WebhookRoute};
use serde_json::Value;

/// The kinds the fake integration serves, in the order its default mapping lists them.
pub const KINDS: [&str; 4] = ["team", "service", "deployment", "item"];

/// The fake integration: a synthetic catalog of teams, services, deployments and benchmark items.
#[derive(Debug, Clone)]
pub struct Fake {
    config: FakeConfig,
}

impl Fake {
    /// A fake integration generating the catalog `config` describes.
    pub fn new(config: FakeConfig) -> Self {
        Fake { config }
    }

    /// The configuration it generates from.
    pub fn config(&self) -> &FakeConfig {
        &self.config
    }

    /// How many raw records a kind has (`None` for a kind it does not serve).
    pub fn count(&self, kind: &str) -> Option<u64> {
        let c = &self.config;
        match kind {
            "team" => Some(c.team_count),
            "service" => Some(c.service_count),
            "deployment" => Some(c.deployment_count),
            "item" => Some(c.item_count),
            _ => None,
        }
    }

    /// The records of `kind` as a lazy stream of pages of `page_size`, or `None` for an unknown
    /// kind.
    pub fn pages(&self, kind: &str) -> Option<PageStream> {
        let c = &self.config;
        let (teams, services, revision) = (c.team_count, c.service_count, c.item_revision);
        let count = self.count(kind)?;
        let stream = match kind {
            "team" => paged(count, c.page_size, catalog::team),
            "service" => paged(count, c.page_size, move |i| catalog::service(i, teams)),
            "deployment" => paged(count, c.page_size, move |i| {
                catalog::deployment(i, services)
            }),
            _ => paged(count, c.page_size, move |i| make_item(i, revision)),
        };
        Some(stream)
    }
}

/// Records `0..count` made by `make`, in pages of `page_size` (at least 1), generated lazily.
fn paged<F>(count: u64, page_size: u64, make: F) -> PageStream
where
    F: Fn(u64) -> Value + Send + Sync + 'static,
{
    let page_size = page_size.max(1);
    futures::stream::iter((0..count).step_by(page_size as usize))
        .map(move |start| {
            let page: Page = (start..count.min(start + page_size)).map(&make).collect();
            Ok(page)
        })
        .boxed()
}

impl Integration for Fake {
    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        let secret = self
            .config
            .webhook_secret
            .clone()
            .filter(|s| !s.expose().trim().is_empty());
        secret
            .map(|secret| WebhookRoute::new(WEBHOOK_PATH, FakeWebhook::new(secret)))
            .into_iter()
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        KINDS.iter().map(|k| (*k).to_owned()).collect()
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let Some(pages) = self.pages(ctx.kind()) else {
            let message = format!(
                "the fake integration has no kind `{}` (it serves {})",
                ctx.kind(),
                KINDS.join(", ")
            );
            return futures::stream::once(async move { Err(FetchError::new(message)) }).boxed();
        };
        let cancelled = ctx.cancellation().clone().cancelled_owned();
        pages.take_until(cancelled).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use tokio_util::sync::CancellationToken;

    fn ctx(kind: &str, cancel: &CancellationToken) -> FetchContext {
        FetchContext::new(kind, 0, Value::Null, None, cancel.clone())
    }

    fn page_sizes(fake: &Fake, kind: &str) -> Vec<usize> {
        let cancel = CancellationToken::new();
        block_on(
            fake.fetch(ctx(kind, &cancel))
                .map(|p| p.unwrap().len())
                .collect(),
        )
    }

    fn check(config: FakeConfig, kind: &str, expected: &[usize]) {
        assert_eq!(
            page_sizes(&Fake::new(config), kind),
            expected,
            "kind {kind}"
        );
    }

    #[test]
    fn pages_hold_page_size_records_and_the_rest_last() {
        let config = FakeConfig {
            team_count: 3,
            service_count: 100,
            deployment_count: 0,
            item_count: 250,
            page_size: 100,
            ..FakeConfig::default()
        };
        check(config.clone(), "team", &[3]);
        check(config.clone(), "service", &[100]);
        check(config.clone(), "deployment", &[]);
        check(config.clone(), "item", &[100, 100, 50]);
        check(
            FakeConfig {
                page_size: 7,
                ..config
            },
            "team",
            &[3],
        );
    }

    #[test]
    fn items_are_the_benchmark_records_in_order() {
        let fake = Fake::new(FakeConfig {
            item_count: 205,
            item_revision: 1,
            ..FakeConfig::default()
        });
        let cancel = CancellationToken::new();
        let pages: Vec<Page> = block_on(
            fake.fetch(ctx("item", &cancel))
                .map(Result::unwrap)
                .collect(),
        );
        let items: Vec<Value> = pages.into_iter().flatten().collect();
        assert_eq!(items.len(), 205);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item, &make_item(i as u64, 1));
        }
    }

    #[test]
    fn an_unknown_kind_fails_with_the_known_ones_listed() {
        let fake = Fake::new(FakeConfig::default());
        let cancel = CancellationToken::new();
        let results: Vec<_> = block_on(fake.fetch(ctx("incident", &cancel)).collect());
        assert_eq!(results.len(), 1);
        let err = results.into_iter().next().unwrap().unwrap_err().chain();
        assert_eq!(
            err,
            "the fake integration has no kind `incident` (it serves team, service, deployment, item)"
        );
        assert_eq!(fake.kinds(), KINDS);
    }

    #[test]
    fn a_cancelled_fetch_stops_generating() {
        let fake = Fake::new(FakeConfig {
            item_count: 1_000_000,
            ..FakeConfig::default()
        });
        let cancel = CancellationToken::new();
        let mut stream = fake.fetch(ctx("item", &cancel));
        let first = block_on(stream.next());
        assert_eq!(first.map(|p| p.unwrap().len()), Some(100));
        cancel.cancel();
        assert!(block_on(stream.next()).is_none());
    }
}
