//! The SDK integrations are written against: a typed config, one fetcher per kind and webhook
//! processors; Ocean does everything else.
