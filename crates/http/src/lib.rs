//! The toolkit integrations call third-party APIs with, so that each integration does not
//! write its own retries, rate limiting, pagination and signature checks (the SDK re-exports it
//! as `ocean::http`).
//!
//! - [`HttpClient`]: an HTTP client (reqwest, rustls) with retries of 429 and 5xx
//!   ([`RetryPolicy`]: `Retry-After`, rate-limit reset headers, exponential backoff with
//!   jitter), a concurrency limit, a [`RateLimiter`] (a configured [`Rate`], and the budget the
//!   API reports in [`RateLimitHeaders`], paused at a [`Reserve`]), [`Credentials`] that never
//!   print and an [`Authenticator`] for credentials that expire ([`RefreshingAuth`]), conditional
//!   requests (`ETag`), and [`HttpError`]s that name the request (service, method, URL without
//!   secrets, status, body excerpt).
//! - [`paginate`]: offset, page, cursor, next-link and `Link`-header pagination as a stream of
//!   pages, with stop rules (page limit, repeated cursors and links are errors).
//! - [`signature`]: webhook signature verification (HMAC-SHA256/SHA1, hex or Base64, prefixes
//!   such as `sha256=` and `v1=`, several candidates), constant-time.
//! - [`RetryPolicy`] is also the policy type of Port's client and of the lifecycle's retries of
//!   webhook processors: one type, one backoff computation, one `Retry-After` parser.
//!
//! ```no_run
//! use ocean_http::{HttpClient, Credentials, Pagination, paginate, json_items};
//! use ocean_model::Secret;
//! # async fn demo() -> Result<(), ocean_http::HttpError> {
//! let client = HttpClient::builder("Acme")
//!     .base_url("https://api.acme.example/v1")
//!     .credentials(Credentials::bearer(&Secret::new("t0ken")).expect("a valid header"))
//!     .concurrency(8)
//!     .build()?;
//! let one: serde_json::Value = client.get("projects/42").send_json().await?;
//! let pages = paginate(
//!     client.get("projects"),
//!     Pagination::offset("offset", "limit", 100),
//!     |response| json_items(response, "/data"),
//! )
//! .into_stream();
//! # let _ = (one, pages);
//! # Ok(())
//! # }
//! ```
//!
//! Invariants: credentials reach only the base URL's origin, and never a log line, error or
//! `Debug` output; every wait is bounded (policy caps, the limiter's longest wait); every
//! pagination ends (page limit, repeated cursor or link detection).

pub mod auth;
mod client;
pub mod error;
pub mod limit;
pub mod link;
mod paginate;
pub mod retry;
pub mod signature;

pub use auth::{AuthError, Authenticator, Credentials, Issued, RefreshingAuth, StaticAuth};
pub use client::{
    HttpClient, HttpClientBuilder, NoRetryRule, Request, Response, SharedStats, Stats,
};
pub use error::{HttpError, RequestLabel};
pub use limit::{Rate, RateLimitHeaders, RateLimiter, Reserve};
pub use link::{Link, find_link, parse_link_header};
pub use paginate::{PageOf, Pagination, Paginator, json_items, paginate};
pub use retry::{InvalidRetryPolicy, RetryPolicy, parse_retry_header};
pub use signature::{Signature, SignatureError};

/// The HTTP types requests and answers are made of.
pub use reqwest::{Method, StatusCode, header};
/// URLs.
pub use url::Url;
