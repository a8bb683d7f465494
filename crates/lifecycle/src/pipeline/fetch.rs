//! Stage 1, fetch: the integration's pages of raw items for one resource, counted, the first few
//! items sent to Port as examples (masked), and split into chunks of at most N items for the
//! mapping stage. The stream ends when the resync is cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde_json::{Map, Value};

use super::RunContext;
use crate::integration::{FetchContext, FetchError, Page};
use crate::metrics::ItemsFetched;
use crate::progress::KindProgress;
use crate::services::Services;

/// Raw examples sent to Port per kind.
pub const EXAMPLES_PER_KIND: usize = 5;

/// A chunk of raw items and when its page arrived (for the live-write fence).
pub(super) type Chunk = Result<(Instant, Page), FetchError>;

/// The chunks of raw items of one resource, at most `chunk_items` each. The fetcher sees the
/// mapping's integration-specific top-level `options` ([`FetchContext::app_options`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn chunks(
    services: &Services,
    kind: &str,
    index: usize,
    selector: Value,
    options: Arc<Map<String, Value>>,
    run: &RunContext,
    progress: &Arc<KindProgress>,
    chunk_items: usize,
) -> BoxStream<'static, Chunk> {
    let ctx = FetchContext::new(
        kind.to_owned(),
        index,
        selector,
        Some(run.id.clone()),
        run.cancel.token().child_token(),
    )
    .with_app_options(options);
    let pages = services
        .integration
        .fetch(ctx)
        .take_until(run.cancel.token().clone().cancelled_owned());
    let remaining_examples = Arc::new(AtomicUsize::new(
        if services.config.send_raw_data_examples {
            EXAMPLES_PER_KIND
        } else {
            0
        },
    ));
    let client = services.client.clone();
    let masker = services.masker.clone();
    let metrics = services.metrics.clone();
    let progress = progress.clone();
    let kind = kind.to_owned();
    let pages = pages.then(move |page: Result<Page, FetchError>| {
        let remaining = remaining_examples.clone();
        let client = client.clone();
        let masker = masker.clone();
        let kind = kind.clone();
        let progress = progress.clone();
        let metrics = metrics.clone();
        async move {
            let page = page?;
            let fetched_at = Instant::now();
            progress.add_fetched(page.len() as u64);
            metrics.emit(ItemsFetched {
                kind: &kind,
                count: page.len() as u64,
            });
            let want = remaining.load(Ordering::Relaxed).min(page.len());
            if want > 0 {
                let examples: Vec<Value> =
                    page[..want].iter().map(|v| masker.mask_json(v)).collect();
                match client.post_kind_examples(&kind, &examples).await {
                    Ok(()) => {
                        remaining.fetch_sub(want, Ordering::Relaxed);
                    }
                    Err(error) => {
                        tracing::warn!(kind = %kind, %error, "Could not send raw data examples to Port");
                    }
                }
            }
            Ok((fetched_at, page))
        }
    });
    split_pages(pages, chunk_items).boxed()
}

/// Splits every page of a stream into chunks of at most `size` items.
fn split_pages(
    pages: impl Stream<Item = Chunk> + Send + 'static,
    size: usize,
) -> impl Stream<Item = Chunk> + Send + 'static {
    pages.flat_map(move |page| {
        let (fetched_at, page) = match page {
            Ok((at, page)) => (at, Ok(page)),
            Err(e) => (Instant::now(), Err(e)),
        };
        futures::stream::iter(
            split(page, size)
                .into_iter()
                .map(move |chunk| chunk.map(|c| (fetched_at, c))),
        )
    })
}

/// A page as chunks of at most `size` items (an error passes through).
fn split(page: Result<Page, FetchError>, size: usize) -> Vec<Result<Page, FetchError>> {
    let page = match page {
        Ok(page) => page,
        Err(e) => return vec![Err(e)],
    };
    if page.len() <= size {
        return vec![Ok(page)];
    }
    let mut chunks = Vec::with_capacity(page.len().div_ceil(size));
    let mut items = page.into_iter();
    loop {
        let chunk: Vec<Value> = items.by_ref().take(size).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(Ok(chunk));
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_split_into_bounded_chunks() {
        let page: Page = (0..7).map(|i| json!(i)).collect();
        let chunks: Vec<usize> = split(Ok(page), 3)
            .into_iter()
            .map(|c| c.unwrap().len())
            .collect();
        assert_eq!(chunks, [3, 3, 1]);
        assert_eq!(split(Ok(vec![]), 3).len(), 1);
        assert!(split(Err(FetchError::new("x")), 3)[0].is_err());
    }
}
