//! Reading a response page: its items (the selector's `data_path`) and what it says about the
//! next page, under the reference's six pagination types and their stop rules, on top of the
//! SDK's [`paginate`](ocean::http::paginate) (which adds the page cap and the detection of a
//! repeated cursor or link).
//!
//! Where the reference never stops, this stops: offset pagination of an object response without
//! `has_more` ends on an empty or short page, at `lastPagePath`, or when `totalPath`'s total is
//! reached (the reference pages on forever).

use crate::data_path::DataPath;
use ocean::http::{HttpError, PageOf, Pagination, Response};
use serde_json::Value;

/// The pagination types of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaginationKind {
    /// One request.
    None,
    /// `?offset=N&limit=size`.
    Offset,
    /// `?page=N&size=size`.
    Page,
    /// `?cursor=<from the previous page>&limit=size`.
    Cursor,
    /// The next URL from the body (`@odata.nextLink`).
    NextLink,
    /// The next URL from the `Link` header.
    HeaderLink,
}

/// Checked pagination options of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct PaginationSettings {
    /// The type.
    pub kind: PaginationKind,
    /// Items per page.
    pub page_size: u64,
    /// The offset, page or cursor query parameter (defaults by type).
    pub pagination_param: Option<String>,
    /// The page-size query parameter (defaults by type).
    pub size_param: Option<String>,
    /// The first page number.
    pub start_page: u64,
    /// Dot path to the next cursor.
    pub cursor_path: Option<String>,
    /// Dot path to "more pages follow".
    pub has_more_path: Option<String>,
    /// Dot path to "this is the last page".
    pub last_page_path: Option<String>,
    /// Top-level key or dot path to the next URL.
    pub next_link_path: String,
    /// The `Link` relation of the next page.
    pub header_link_rel: String,
    /// Dot path to the total number of items.
    pub total_path: Option<String>,
    /// Pages at most.
    pub max_pages: u64,
}

impl PaginationSettings {
    /// The SDK's pagination for these settings.
    pub fn pagination(&self) -> Pagination {
        let param = |default: &str| {
            self.pagination_param
                .clone()
                .unwrap_or_else(|| default.to_owned())
        };
        let size = |default: &str| {
            self.size_param
                .clone()
                .unwrap_or_else(|| default.to_owned())
        };
        match self.kind {
            PaginationKind::None => Pagination::Single,
            PaginationKind::Offset => {
                Pagination::offset(&param("offset"), &size("limit"), self.page_size)
            }
            PaginationKind::Page => Pagination::page(&param("page"), &size("size"), self.page_size)
                .start_at(self.start_page),
            PaginationKind::Cursor => {
                Pagination::cursor(&param("cursor")).with_size(&size("limit"), self.page_size)
            }
            PaginationKind::NextLink => Pagination::next_link(),
            PaginationKind::HeaderLink => Pagination::LinkHeader {
                rel: self.header_link_rel.clone(),
            },
        }
    }

    /// Reads one response: items through `data_path`, and the next cursor or link, whether more
    /// pages follow and the total, by this pagination's rules.
    ///
    /// The items come back as one "slot" per element of the page, the first holding them all:
    /// the paginator counts slots, so offsets advance and short pages are judged by what the API
    /// returned, not by what `data_path` kept. That count is the length of a list response (as
    /// the reference), and what `data_path` gives for an object response.
    pub fn read(
        &self,
        response: &Response,
        data_path: &DataPath,
    ) -> Result<PageOf<Vec<Value>>, HttpError> {
        let mut body: Value = response.json()?;
        let list_len = body.as_array().map(Vec::len);
        let items = data_path
            .take_items(&mut body)
            .map_err(|reason| response.shape_error(reason))?;
        let returned = list_len.unwrap_or(items.len());
        let page = self.page_of(items, &body);
        let mut slots = vec![Vec::new(); returned.max(usize::from(!page.items.is_empty()))];
        if let Some(first) = slots.first_mut() {
            *first = page.items;
        }
        Ok(PageOf {
            items: slots,
            next: page.next,
            more: page.more,
            total: page.total,
        })
    }

    /// The page of `items` read from `body`.
    pub fn page_of(&self, items: Vec<Value>, body: &Value) -> PageOf<Value> {
        let page = PageOf::items(items);
        let total = self
            .total_path
            .as_deref()
            .and_then(|p| dot_path(body, p))
            .and_then(as_count);
        let page = page.total(total);
        if !body.is_object() {
            // A list response: the short-page rule (offset, page) or the end (cursor, next link).
            return page;
        }
        let at = |path: &Option<String>| path.as_deref().and_then(|p| dot_path(body, p));
        let has_more = at(&self.has_more_path).map(truthy);
        let last_page = at(&self.last_page_path).map(truthy);
        match self.kind {
            PaginationKind::None | PaginationKind::HeaderLink => page,
            PaginationKind::Page => {
                let more = has_more.or(last_page.map(|last| !last)).unwrap_or_else(|| {
                    non_null(body.get("next_page"))
                        || non_null(body.get("next"))
                        || body.get("hasMore").is_some_and(truthy)
                });
                page.more(Some(more))
            }
            PaginationKind::Offset => {
                let more = if self.has_more_path.is_some() {
                    Some(has_more.unwrap_or(false))
                } else {
                    last_page.map(|last| !last).or_else(|| {
                        body.get("has_more")
                            .or_else(|| body.get("hasMore"))
                            .filter(|v| !v.is_null())
                            .map(truthy)
                    })
                };
                page.more(more)
            }
            PaginationKind::Cursor => {
                let cursor = match &self.cursor_path {
                    Some(path) => dot_path(body, path).filter(|v| truthy(v)),
                    None => ["next_cursor", "cursor", "meta.after_cursor", "links.next"]
                        .iter()
                        .find_map(|p| dot_path(body, p).filter(|v| truthy(v))),
                };
                let more = if self.has_more_path.is_some() {
                    has_more.unwrap_or(false)
                } else {
                    ["has_more", "hasMore", "meta.has_more"]
                        .iter()
                        .find_map(|p| dot_path(body, p).filter(|v| !v.is_null()))
                        .is_some_and(truthy)
                };
                page.next(cursor.map(scalar_text)).more(Some(more))
            }
            PaginationKind::NextLink => {
                let link = body
                    .get(&self.next_link_path)
                    .or_else(|| dot_path(body, &self.next_link_path))
                    .filter(|v| truthy(v));
                page.next(link.map(scalar_text))
            }
        }
    }
}

/// The value at a dot path (`meta.after_cursor`); a segment of digits also indexes an array.
pub fn dot_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Python's truthiness of a JSON value.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn non_null(value: Option<&Value>) -> bool {
    value.is_some_and(|v| !v.is_null())
}

fn as_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A cursor or link as text (a number is written out; a string as it is).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PaginationOptions;
    use serde_json::json;

    fn settings(options: Value) -> PaginationSettings {
        serde_json::from_value::<PaginationOptions>(options)
            .unwrap()
            .settings()
            .unwrap()
    }

    #[test]
    fn dot_paths_walk_objects_and_arrays() {
        let body = json!({"meta": {"after": "c2", "list": [{"x": 1}]}});
        assert_eq!(dot_path(&body, "meta.after"), Some(&json!("c2")));
        assert_eq!(dot_path(&body, "meta.list.0.x"), Some(&json!(1)));
        assert_eq!(dot_path(&body, "meta.missing"), None);
    }

    #[test]
    fn page_stop_rules_in_the_reference_order() {
        let page = settings(json!({"pagination_type": "page", "has_more_path": "more",
            "last_page_path": "last"}));
        let more = |body: Value| page.page_of(vec![], &body).more;
        assert_eq!(more(json!({"more": true, "last": true})), Some(true));
        assert_eq!(more(json!({"last": true})), Some(false));
        assert_eq!(more(json!({"last": false})), Some(true));
        let plain = settings(json!({"pagination_type": "page"}));
        assert_eq!(
            plain.page_of(vec![], &json!({"next_page": 3})).more,
            Some(true)
        );
        assert_eq!(
            plain.page_of(vec![], &json!({"hasMore": false})).more,
            Some(false)
        );
        assert_eq!(plain.page_of(vec![], &json!([1])).more, None);
    }

    #[test]
    fn offset_without_has_more_leaves_the_end_to_short_pages_last_page_and_total() {
        let offset = settings(
            json!({"pagination_type": "offset", "total_path": "meta.total",
            "last_page_path": "done"}),
        );
        let page = offset.page_of(vec![json!(1)], &json!({"meta": {"total": "7"}}));
        assert_eq!((page.more, page.total), (None, Some(7)));
        assert_eq!(
            offset.page_of(vec![], &json!({"done": true})).more,
            Some(false)
        );
        assert_eq!(
            offset.page_of(vec![], &json!({"has_more": true})).more,
            Some(true)
        );
        let strict = settings(json!({"pagination_type": "offset", "has_more_path": "m"}));
        assert_eq!(strict.page_of(vec![], &json!({})).more, Some(false));
    }

    #[test]
    fn cursors_and_links() {
        let cursor = settings(json!({"pagination_type": "cursor"}));
        let page = cursor.page_of(
            vec![],
            &json!({"meta": {"after_cursor": "c2", "has_more": true}}),
        );
        assert_eq!((page.next.as_deref(), page.more), (Some("c2"), Some(true)));
        let page = cursor.page_of(vec![], &json!({"next_cursor": "c2"}));
        assert_eq!(page.more, Some(false));
        let slack = settings(json!({"pagination_type": "cursor",
            "cursor_path": "response_metadata.next_cursor",
            "has_more_path": "response_metadata.next_cursor"}));
        let page = slack.page_of(vec![], &json!({"response_metadata": {"next_cursor": ""}}));
        assert_eq!((page.next, page.more), (None, Some(false)));
        let link = settings(json!({"pagination_type": "next_link"}));
        let page = link.page_of(vec![], &json!({"@odata.nextLink": "http://h/p?skip=2"}));
        assert_eq!(page.next.as_deref(), Some("http://h/p?skip=2"));
        let nested =
            settings(json!({"pagination_type": "next_link", "next_link_path": "links.next"}));
        assert_eq!(
            nested
                .page_of(vec![], &json!({"links": {"next": "/p/2"}}))
                .next
                .as_deref(),
            Some("/p/2")
        );
    }

    #[test]
    fn default_parameter_names_by_type() {
        assert_eq!(
            settings(json!({"pagination_type": "page", "page_size": 5})).pagination(),
            Pagination::page("page", "size", 5)
        );
        assert_eq!(
            settings(json!({"pagination_type": "offset"})).pagination(),
            Pagination::offset("offset", "limit", 100)
        );
        assert_eq!(
            settings(json!({"pagination_type": "cursor", "pagination_param": "after"}))
                .pagination(),
            Pagination::cursor("after").with_size("limit", 100)
        );
    }
}
