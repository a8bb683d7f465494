//! Everything an integration author usually needs, in one `use ocean::prelude::*;`.
//!
//! - the contract: [`Integration`], [`FetchContext`], [`FetchError`], [`PageStream`], [`Page`],
//!   [`BoxError`], [`StartContext`], the webhook types and [`Signature`] (webhook signature
//!   schemes, checked with [`WebhookEvent::verify_signature`]);
//! - the third-party HTTP toolkit's everyday types: [`HttpClient`], [`HttpError`],
//!   [`Credentials`], [`RetryPolicy`], [`Pagination`], [`PageOf`], [`paginate`], [`json_items`]
//!   (the rest is in [`ocean::http`](crate::http));
//! - [`Secret`] for credentials in the typed configuration (redacted `Debug`);
//! - [`async_trait`](macro@async_trait) for the trait's async hooks;
//! - serde's [`Deserialize`] for the typed configuration, [`json!`] and [`Value`] for items;
//! - stream helpers: [`try_stream!`] (write a fetcher as a loop with `?` and `yield page`),
//!   [`stream`], [`StreamExt`], [`TryStreamExt`], [`BoxStream`].

pub use async_stream::{stream as async_stream, try_stream};
pub use async_trait::async_trait;
pub use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
pub use ocean_http::{
    Credentials, HttpClient, HttpError, PageOf, Pagination, RetryPolicy, Signature, json_items,
    paginate,
};
pub use ocean_lifecycle::{
    BoxError, FetchContext, FetchError, Integration, Page, PageStream, StartContext, WebhookEvent,
    WebhookProcessor, WebhookRejection, WebhookResults, WebhookRoute,
};
pub use ocean_model::Secret;
pub use serde::Deserialize;
pub use serde_json::{Value, json};
