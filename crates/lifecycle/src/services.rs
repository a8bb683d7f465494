//! The services of one integration's runtime, shared by resyncs and live events, in one explicit
//! struct: the Port client, the integration, the engine's settings, the masker of sensitive
//! values, the metrics and the live-write fence.
//!
//! Nothing here runs anything: the resync pipeline ([`crate::pipeline`]) and live events
//! ([`crate::live`]) receive a `&Services` and use its parts through the pipeline's stages.

use std::sync::Arc;

use ocean_port_client::PortClient;

use crate::fence::LiveWrites;
use crate::integration::Integration;
use crate::metrics::Metrics;
use crate::pipeline::EngineConfig;
use ocean_model::Masker;

/// What resyncs and live events of one runtime share.
pub(crate) struct Services {
    /// Writes and reads Port.
    pub client: PortClient,
    /// Fetches the third party's items.
    pub integration: Arc<dyn Integration>,
    /// Pipeline bounds and mapping options.
    pub config: EngineConfig,
    /// Hides sensitive values in what is logged or sent as examples.
    pub masker: Masker,
    /// Every internal event of resyncs and live events goes here.
    pub metrics: Arc<Metrics>,
    /// Where live events record their writes while a resync runs.
    pub fence: Arc<LiveWrites>,
}

impl Services {
    /// The services of a runtime writing through `client` with data from `integration`.
    pub fn new(
        client: PortClient,
        integration: Arc<dyn Integration>,
        config: EngineConfig,
        masker: Masker,
    ) -> Self {
        let metrics = Arc::new(Metrics::new(Some(client.clone())));
        Services {
            client,
            integration,
            config,
            masker,
            metrics,
            fence: Arc::new(LiveWrites::new()),
        }
    }
}
