//! Everything an integration author usually needs, in one `use ocean::prelude::*;`.
//!
//! - the contract: [`Integration`], [`FetchContext`], [`FetchError`], [`PageStream`], [`Page`],
//!   [`BoxError`], [`StartContext`], the webhook types and HMAC signature helpers;
//! - [`Secret`] for credentials in the typed configuration (redacted `Debug`);
//! - [`async_trait`](macro@async_trait) for the trait's async hooks;
//! - serde's [`Deserialize`] for the typed configuration, [`json!`] and [`Value`] for items;
//! - stream helpers: [`try_stream!`] (write a fetcher as a loop with `?` and `yield page`),
//!   [`stream`], [`StreamExt`], [`TryStreamExt`], [`BoxStream`].

pub use async_stream::{stream as async_stream, try_stream};
pub use async_trait::async_trait;
pub use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
pub use ocean_lifecycle::{
    BoxError, FetchContext, FetchError, Integration, Page, PageStream, StartContext, WebhookEvent,
    WebhookProcessor, WebhookRejection, WebhookResults, WebhookRoute, hmac_sha256_hex,
    verify_hmac_sha256_hex,
};
pub use ocean_model::Secret;
pub use serde::Deserialize;
pub use serde_json::{Value, json};
