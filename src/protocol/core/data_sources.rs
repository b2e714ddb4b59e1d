//! Data sources: validation and reading.

use super::values::{encode_state, failed, StateOutcome, WireValue};
use super::{Kind, ProviderCore};
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::provider::Provider;

impl<P: Provider> ProviderCore<P> {
    pub async fn validate_data_source_config(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> Diagnostics {
        self.check_config(
            Kind::DataSource,
            type_name,
            config,
            |provider, config| async move {
                provider
                    .validate_data_source_config(type_name, &config)
                    .await
            },
        )
        .await
    }

    pub async fn read_data_source(&self, type_name: &str, config: &WireValue) -> StateOutcome {
        let (ty, config) = match self.decode_config(Kind::DataSource, type_name, config) {
            Ok(decoded) => decoded,
            Err(error) => return failed(error),
        };
        let answer = self.provider.read_data_source(type_name, config).await;
        encode_state(&answer.state, ty, Vec::new(), answer.diagnostics)
    }
}
