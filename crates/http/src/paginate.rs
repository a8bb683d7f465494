//! Paging through list endpoints as a stream of pages, with stop rules that end every loop.
//!
//! A list is a [`Request`] for its first page, a [`Pagination`] saying how the next page is
//! asked for, and a parser that reads one [`Response`] into a [`PageOf`] (its items, and what the
//! body says about the rest: a cursor or next link, `has_more`, a total). [`paginate`] turns
//! them into a stream that requests a page only when the previous one was consumed, so a
//! resync holds one page at a time and stops fetching when it is cancelled.
//!
//! | Strategy | Next page | Stops when |
//! |---|---|---|
//! | [`Pagination::Offset`] | `offset += items` | `more` is false; else on an empty page, a short page, or `total` reached |
//! | [`Pagination::Page`] | `page += 1` | as offset |
//! | [`Pagination::Cursor`] | the parsed `next` as a query parameter | no `next`, or `more` is false |
//! | [`Pagination::NextLink`] | the parsed `next` as a URL (relative to the page's) | no `next` |
//! | [`Pagination::LinkHeader`] | the `Link` header's `rel="next"` | no such link |
//!
//! In every strategy a cursor or link that was already followed is an error (an API that loops
//! would otherwise be paged forever), and so is going past `max_pages` (default 10 000); both
//! errors name the request. Offset and page strategies can halve the page size and ask again
//! when the API answers certain statuses (GitHub's 502/504 on large pages).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use futures::stream::{self, BoxStream, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;

use crate::client::{Request, Response};
use crate::error::HttpError;

/// How the next page of a list is requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pagination {
    /// One request, no further pages.
    Single,
    /// `?{offset_param}=N&{limit_param}=size`, `N` from `start` by the items received.
    Offset {
        /// The offset's query parameter (`offset`).
        offset_param: String,
        /// The page size's query parameter (`limit`), if the API takes one.
        limit_param: Option<String>,
        /// Items asked for per page.
        page_size: u64,
        /// The first offset (0).
        start: u64,
    },
    /// `?{page_param}=N&{size_param}=size`, `N` from `start` by one.
    Page {
        /// The page number's query parameter (`page`).
        page_param: String,
        /// The page size's query parameter (`per_page`), if the API takes one.
        size_param: Option<String>,
        /// Items asked for per page.
        page_size: u64,
        /// The first page number (1).
        start: u64,
    },
    /// `?{cursor_param}=<next>` from the previous page's body; no cursor on the first page.
    Cursor {
        /// The cursor's query parameter (`cursor`, `after`).
        cursor_param: String,
        /// The page size's query parameter and value, if any.
        size: Option<(String, u64)>,
    },
    /// The next page's URL from the previous page's body (`next`, `links.next`).
    NextLink,
    /// The next page's URL from the `Link` header's link of this relation (`next`).
    LinkHeader {
        /// The relation (`next`).
        rel: String,
    },
}

impl Pagination {
    /// Offset pagination from 0 (`offset`, `limit`).
    pub fn offset(offset_param: &str, limit_param: &str, page_size: u64) -> Self {
        Pagination::Offset {
            offset_param: offset_param.into(),
            limit_param: Some(limit_param.into()).filter(|p: &String| !p.is_empty()),
            page_size: page_size.max(1),
            start: 0,
        }
    }

    /// Page-number pagination from page 1 (`page`, `per_page`).
    pub fn page(page_param: &str, size_param: &str, page_size: u64) -> Self {
        Pagination::Page {
            page_param: page_param.into(),
            size_param: Some(size_param.into()).filter(|p: &String| !p.is_empty()),
            page_size: page_size.max(1),
            start: 1,
        }
    }

    /// Cursor pagination (`cursor`); the parser returns the next cursor in [`PageOf::next`].
    pub fn cursor(cursor_param: &str) -> Self {
        Pagination::Cursor {
            cursor_param: cursor_param.into(),
            size: None,
        }
    }

    /// Next-link pagination; the parser returns the next URL in [`PageOf::next`].
    pub fn next_link() -> Self {
        Pagination::NextLink
    }

    /// `Link: <…>; rel="next"` pagination (GitHub).
    pub fn link_header() -> Self {
        Pagination::LinkHeader { rel: "next".into() }
    }

    /// The same pagination starting at this offset or page number.
    pub fn start_at(mut self, first: u64) -> Self {
        match &mut self {
            Pagination::Offset { start, .. } | Pagination::Page { start, .. } => *start = first,
            _ => {}
        }
        self
    }

    /// The same cursor pagination with a page-size parameter.
    pub fn with_size(mut self, param: &str, page_size: u64) -> Self {
        if let Pagination::Cursor { size, .. } = &mut self {
            *size = Some((param.into(), page_size.max(1)));
        }
        self
    }
}

/// One page as the parser read it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOf<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// The next cursor ([`Pagination::Cursor`]) or next URL ([`Pagination::NextLink`]).
    pub next: Option<String>,
    /// Whether the body says more pages follow (`has_more`, `more`, or not `last_page`).
    pub more: Option<bool>,
    /// The total number of items, if the body says.
    pub total: Option<u64>,
}

impl<T> PageOf<T> {
    /// A page of these items, saying nothing else.
    pub fn items(items: Vec<T>) -> Self {
        PageOf {
            items,
            next: None,
            more: None,
            total: None,
        }
    }

    /// The same page with a next cursor or link.
    pub fn next(mut self, next: Option<String>) -> Self {
        self.next = next;
        self
    }

    /// The same page saying whether more follow.
    pub fn more(mut self, more: Option<bool>) -> Self {
        self.more = more;
        self
    }

    /// The same page with a total.
    pub fn total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }
}

/// Reads a JSON body's items at `pointer` (a JSON pointer: `/incidents`, `/data/items`, or
/// `""` for a top-level array), and `more`/`has_more` when the body has it.
pub fn json_items(response: &Response, pointer: &str) -> Result<PageOf<Value>, HttpError> {
    let mut body: Value = response.json()?;
    let more = body
        .get("has_more")
        .or_else(|| body.get("more"))
        .and_then(Value::as_bool);
    let items = match body.pointer_mut(pointer).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => {
            let place = if pointer.is_empty() {
                "a top-level list".to_owned()
            } else {
                format!("a list at {pointer}")
            };
            return Err(response.shape_error(place));
        }
    };
    Ok(PageOf::items(items).more(more))
}

/// A paged list being built: [`paginate`] with its limits.
pub struct Paginator<T, F> {
    request: Request,
    pagination: Pagination,
    parse: F,
    max_pages: u64,
    stop_on_short_page: bool,
    shrink_on: Vec<StatusCode>,
    _items: std::marker::PhantomData<fn() -> T>,
}

/// The pages of a list, as a stream of pages: `request` is the first page's request, `parse`
/// reads each response. See the module's table for the stop rules.
pub fn paginate<T, F>(request: Request, pagination: Pagination, parse: F) -> Paginator<T, F>
where
    F: FnMut(&Response) -> Result<PageOf<T>, HttpError> + Send + 'static,
    T: Send + 'static,
{
    Paginator {
        request,
        pagination,
        parse,
        max_pages: 10_000,
        stop_on_short_page: true,
        shrink_on: Vec::new(),
        _items: std::marker::PhantomData,
    }
}

enum Position {
    Number(u64),
    Cursor(Option<String>),
    Url(Option<url::Url>),
    Done,
}

struct State<F> {
    request: Request,
    pagination: Pagination,
    parse: F,
    max_pages: u64,
    stop_on_short_page: bool,
    shrink_on: Vec<StatusCode>,
    page_size: u64,
    position: Position,
    pages: u64,
    items_seen: u64,
    seen: HashSet<u64>,
    hasher: RandomState,
}

impl<T, F> Paginator<T, F>
where
    F: FnMut(&Response) -> Result<PageOf<T>, HttpError> + Send + 'static,
    T: Send + 'static,
{
    /// Fail rather than request more than this many pages (default 10 000).
    pub fn max_pages(mut self, max_pages: u64) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Offset and page strategies: whether a page shorter than the page size ends the list
    /// when the body does not say whether more follow (default true; turn it off for APIs that
    /// cap the page size below what was asked).
    pub fn stop_on_short_page(mut self, stop: bool) -> Self {
        self.stop_on_short_page = stop;
        self
    }

    /// Offset and page strategies: when a page is answered with one of these statuses (after
    /// retries), halve the page size and ask again (GitHub: 502 and 504 on heavy pages).
    pub fn shrink_page_size_on(mut self, statuses: &[u16]) -> Self {
        self.shrink_on = statuses
            .iter()
            .filter_map(|s| StatusCode::from_u16(*s).ok())
            .collect();
        self
    }

    /// The stream of pages (empty pages are not yielded); it ends after the first error.
    pub fn into_stream(self) -> BoxStream<'static, Result<Vec<T>, HttpError>> {
        let (position, page_size) = match &self.pagination {
            Pagination::Offset {
                start, page_size, ..
            }
            | Pagination::Page {
                start, page_size, ..
            } => (Position::Number(*start), *page_size),
            Pagination::Cursor { .. } => (Position::Cursor(None), 0),
            Pagination::Single | Pagination::NextLink | Pagination::LinkHeader { .. } => {
                (Position::Url(None), 0)
            }
        };
        let state = State {
            request: self.request,
            pagination: self.pagination,
            parse: self.parse,
            max_pages: self.max_pages,
            stop_on_short_page: self.stop_on_short_page,
            shrink_on: self.shrink_on,
            page_size,
            position,
            pages: 0,
            items_seen: 0,
            seen: HashSet::new(),
            hasher: RandomState::new(),
        };
        stream::try_unfold(state, |mut state| async move {
            loop {
                match state.next_page().await? {
                    None => return Ok(None),
                    Some(items) if items.is_empty() => continue,
                    Some(items) => return Ok(Some((items, state))),
                }
            }
        })
        .boxed()
    }
}

impl<F> State<F> {
    /// The request of the current position.
    fn current_request(&self) -> Request {
        let request = self.request.clone();
        match (&self.pagination, &self.position) {
            (
                Pagination::Offset {
                    offset_param,
                    limit_param,
                    ..
                },
                Position::Number(n),
            ) => {
                let request = request.set_query(offset_param, n.to_string());
                match limit_param {
                    Some(p) => request.set_query(p, self.page_size.to_string()),
                    None => request,
                }
            }
            (
                Pagination::Page {
                    page_param,
                    size_param,
                    ..
                },
                Position::Number(n),
            ) => {
                let request = request.set_query(page_param, n.to_string());
                match size_param {
                    Some(p) => request.set_query(p, self.page_size.to_string()),
                    None => request,
                }
            }
            (Pagination::Cursor { cursor_param, size }, Position::Cursor(cursor)) => {
                let request = match size {
                    Some((p, n)) => request.set_query(p, n.to_string()),
                    None => request,
                };
                match cursor {
                    Some(c) => request.set_query(cursor_param, c),
                    None => request,
                }
            }
            (_, Position::Url(Some(url))) => request.with_parsed_url(url.clone()),
            _ => request,
        }
    }

    fn pagination_error(&self, request: &Request, reason: String) -> HttpError {
        HttpError::Pagination {
            request: request.label(),
            reason,
        }
    }

    /// Remembers a cursor or link; false if it was seen before.
    fn first_time(&mut self, token: &str) -> bool {
        self.seen.insert(self.hasher.hash_one(token))
    }

    async fn next_page<T>(&mut self) -> Result<Option<Vec<T>>, HttpError>
    where
        F: FnMut(&Response) -> Result<PageOf<T>, HttpError>,
    {
        if matches!(self.position, Position::Done) {
            return Ok(None);
        }
        let request = self.current_request();
        if self.pages >= self.max_pages {
            return Err(self.pagination_error(
                &request,
                format!(
                    "stopped after {} pages; the API kept answering that more follow (raise the page limit if the list really is that long)",
                    self.max_pages
                ),
            ));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e)
                if self.page_size > 1
                    && e.status().is_some_and(|s| self.shrink_on.contains(&s))
                    && matches!(self.position, Position::Number(_)) =>
            {
                let smaller = self.page_size / 2;
                tracing::warn!(error = %e, page_size = smaller, "the page failed; asking again with a smaller page size");
                if let (Pagination::Page { start, .. }, Position::Number(n)) =
                    (&self.pagination, &mut self.position)
                {
                    // Items seen so far are whole pages of the old size: renumber.
                    *n = *start + self.items_seen / smaller.max(1);
                }
                self.page_size = smaller;
                return Box::pin(self.next_page()).await;
            }
            Err(e) => return Err(e),
        };
        let header_next = match &self.pagination {
            Pagination::LinkHeader { rel } => response.link(rel),
            _ => None,
        };
        let page = (self.parse)(&response)?;
        self.pages += 1;
        let received = page.items.len() as u64;
        self.items_seen += received;
        let more = page.more;
        let total_reached = page.total.is_some_and(|t| self.items_seen >= t);
        let short = self.stop_on_short_page && received < self.page_size;
        let next_position = match (&self.pagination, &self.position) {
            (Pagination::Single, _) => Position::Done,
            (Pagination::Offset { .. }, Position::Number(n)) => {
                let ends = more == Some(false)
                    || received == 0
                    || total_reached
                    || (more.is_none() && short);
                if ends {
                    Position::Done
                } else {
                    Position::Number(n + received)
                }
            }
            (Pagination::Page { .. }, Position::Number(n)) => {
                let ends = more == Some(false)
                    || received == 0
                    || total_reached
                    || (more.is_none() && short);
                if ends {
                    Position::Done
                } else {
                    Position::Number(n + 1)
                }
            }
            (Pagination::Cursor { .. }, _) => match page.next.filter(|c| !c.is_empty()) {
                Some(_) if more == Some(false) => Position::Done,
                Some(cursor) => {
                    if !self.first_time(&cursor) {
                        return Err(self.pagination_error(
                                &request,
                                format!("the API returned the cursor {} a second time; stopping instead of looping", shorten(&cursor)),
                            ));
                    }
                    Position::Cursor(Some(cursor))
                }
                None => Position::Done,
            },
            (Pagination::NextLink, _) => match page.next.filter(|n| !n.is_empty()) {
                Some(next) => {
                    let url = response.url().join(&next).map_err(|e| {
                        self.pagination_error(
                            &request,
                            format!("the next link {} is not a URL: {e}", shorten(&next)),
                        )
                    })?;
                    self.follow(&request, url)?
                }
                None => Position::Done,
            },
            (Pagination::LinkHeader { .. }, _) => match header_next {
                Some(url) => self.follow(&request, url)?,
                None => Position::Done,
            },
            _ => Position::Done,
        };
        self.position = next_position;
        Ok(Some(page.items))
    }

    /// The position of a next URL, or an error when it was followed before.
    fn follow(&mut self, request: &Request, url: url::Url) -> Result<Position, HttpError> {
        if self.pages == 1 {
            if let Some(first) = request.url() {
                let first = first.to_string();
                self.first_time(&first);
            }
        }
        if !self.first_time(url.as_str()) {
            return Err(self.pagination_error(
                request,
                "the API sent a next link that was already followed; stopping instead of looping"
                    .into(),
            ));
        }
        Ok(Position::Url(Some(url)))
    }
}

/// A cursor or link, cut to 80 characters for messages.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        format!("{text:?}")
    } else {
        format!("{:?}…", text.chars().take(80).collect::<String>())
    }
}
