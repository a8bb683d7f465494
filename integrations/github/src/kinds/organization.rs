//! `organization`: the organizations and personal accounts the credentials reach, as
//! `GET /users/{login}` (a scoped credential) or `GET /user/orgs` (an unscoped token, with the
//! token user's account first under `includeAuthenticatedUser`) answer them. Every item has a
//! `type` (`Organization` or `User`).

use super::{Env, KindStream};
use futures::StreamExt as _;

/// The organization kind.
pub fn organizations(env: Env) -> KindStream {
    Box::pin(async_stream::try_stream! {
        let orgs = env.orgs().await?;
        if !orgs.is_empty() {
            yield orgs.into_iter().map(|o| o.raw).collect::<Vec<_>>();
        }
    })
    .boxed()
}
