//! The mapping a resync (or a live event) runs with: the integration's `port-app-config` as Port
//! holds it now (or the one the integration provides instead,
//! [`Integration::mapping_override`](crate::Integration::mapping_override)), read at the start of
//! every resync and never cached across them.

use ocean_mapping::PortAppConfig;

use crate::report::SharedPortError;
use crate::services::Services;

/// Why the mapping could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// Port could not be asked: refused credentials, a network failure, an error status.
    #[error("reading the integration from Port failed: {0}")]
    Port(SharedPortError),
    /// The integration is not in Port (deleted while running?).
    #[error("the integration does not exist in Port")]
    NoIntegration,
    /// The integration has no `config`.
    #[error("the integration in Port has no `config` (mapping)")]
    NoMapping,
    /// The mapping does not validate.
    #[error("Invalid port app config found: {0}")]
    Invalid(String),
    /// The integration's [`mapping_override`](crate::Integration::mapping_override) failed.
    #[error("the integration could not provide its mapping: {0}")]
    Override(String),
    /// The mapping the integration provided does not validate.
    #[error("Invalid port app config provided by the integration: {0}")]
    InvalidOverride(String),
}

impl MappingError {
    /// Whether Port itself failed (as opposed to the mapping being wrong or absent).
    pub fn is_port_failure(&self) -> bool {
        matches!(self, MappingError::Port(_))
    }
}

/// The mapping as Port holds it now: `integration.config`, unless the integration provides its
/// own ([`Integration::mapping_override`](crate::Integration::mapping_override)). An empty object
/// is an empty mapping.
pub(crate) async fn load(services: &Services) -> Result<PortAppConfig, MappingError> {
    let integration = services
        .client
        .get_integration()
        .await
        .map_err(|e| MappingError::Port(e.into()))?
        .ok_or(MappingError::NoIntegration)?;
    let Some(config) = integration.config else {
        return Err(MappingError::NoMapping);
    };
    let replaced = services
        .integration
        .mapping_override(&config)
        .await
        .map_err(|e| MappingError::Override(e.to_string()))?;
    if let Some(mapping) = replaced {
        return PortAppConfig::from_json(&mapping)
            .map_err(|e| MappingError::InvalidOverride(e.to_string()));
    }
    if config.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(PortAppConfig {
            resources: Vec::new(),
            ..PortAppConfig::default()
        });
    }
    PortAppConfig::from_json(&config).map_err(|e| MappingError::Invalid(e.to_string()))
}
