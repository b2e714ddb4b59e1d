//! Managed resources: validation, state upgrades, plan, apply, read and import.

use super::values::{encode_state, failed, unencodable, StateOutcome, WireValue};
use super::{Kind, ProviderCore};
use crate::protocol::cty::encode_msgpack;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::{ApplyRequest, PlanRequest, Provider};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanOutcome {
    pub planned_state: Option<Vec<u8>>,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedState {
    pub type_name: String,
    pub state: Vec<u8>,
    pub private: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOutcome {
    pub imported: Vec<ImportedState>,
    pub diagnostics: Diagnostics,
}

impl<P: Provider> ProviderCore<P> {
    /// The answer to an optional resource feature this provider does not implement (identity,
    /// MoveResourceState, GenerateResourceConfig): unknown type, or "not supported".
    pub fn unsupported_for_resource(&self, type_name: &str, feature: &str) -> Diagnostics {
        match self.resource_type(type_name) {
            Err(unknown) => unknown,
            Ok(_) => Diagnostic::error(
                "Not supported by this provider",
                format!("The {type_name} resource type does not support {feature}."),
            )
            .into(),
        }
    }

    pub async fn validate_resource_config(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> Diagnostics {
        self.check_config(
            Kind::Resource,
            type_name,
            config,
            |provider, config| async move {
                provider.validate_resource_config(type_name, &config).await
            },
        )
        .await
    }

    /// `raw_json` is `RawState.json`; `has_flatmap` says whether the pre-0.12 flatmap form was
    /// sent instead, which no state of this provider can be in.
    pub async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
        has_flatmap: bool,
    ) -> StateOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return failed(unknown),
        };
        if raw_json.is_empty() {
            let detail = if has_flatmap {
                "The stored state is in the flatmap form of Terraform 0.11 and older, which this provider never wrote."
            } else {
                "Terraform sent no stored state to upgrade."
            };
            return failed(Diagnostic::error("Cannot upgrade resource state", detail).into());
        }
        let raw_state: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(raw_state) => raw_state,
            Err(error) => {
                return failed(
                    Diagnostic::error(
                        "Invalid stored state",
                        format!("The stored state is not valid JSON: {error}."),
                    )
                    .into(),
                )
            }
        };
        let answer = self
            .provider
            .upgrade_resource_state(type_name, version, &raw_state)
            .await;
        encode_state(&answer.upgraded_state, ty, Vec::new(), answer.diagnostics)
    }

    pub async fn read_resource(
        &self,
        type_name: &str,
        current_state: &WireValue,
        private: Vec<u8>,
    ) -> StateOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return failed(unknown),
        };
        let current_state = match current_state.decode(ty, "current state") {
            Ok(value) => value,
            Err(error) => return failed(error.into()),
        };
        let answer = self
            .provider
            .read_resource(type_name, current_state, private)
            .await;
        encode_state(&answer.new_state, ty, answer.private, answer.diagnostics)
    }

    pub async fn plan_resource_change(
        &self,
        type_name: &str,
        prior_state: &WireValue,
        proposed_new_state: &WireValue,
        config: &WireValue,
        prior_private: Vec<u8>,
    ) -> PlanOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => {
                return PlanOutcome {
                    diagnostics: unknown,
                    ..PlanOutcome::default()
                }
            }
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>(PlanRequest {
                type_name: type_name.to_owned(),
                prior_state: prior_state.decode(ty, "prior state")?,
                proposed_new_state: proposed_new_state.decode(ty, "proposed new state")?,
                config: config.decode(ty, "resource configuration")?,
                prior_private,
            })
        })();
        let request = match decoded {
            Ok(request) => request,
            Err(error) => {
                return PlanOutcome {
                    diagnostics: error.into(),
                    ..PlanOutcome::default()
                }
            }
        };
        let answer = self.provider.plan_resource_change(request).await;
        let encoded = encode_state(
            &answer.planned_state,
            ty,
            answer.planned_private,
            answer.diagnostics,
        );
        PlanOutcome {
            planned_state: encoded.state,
            requires_replace: answer.requires_replace,
            planned_private: encoded.private,
            diagnostics: encoded.diagnostics,
        }
    }

    pub async fn apply_resource_change(
        &self,
        type_name: &str,
        prior_state: &WireValue,
        planned_state: &WireValue,
        config: &WireValue,
        planned_private: Vec<u8>,
    ) -> StateOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return failed(unknown),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>(ApplyRequest {
                type_name: type_name.to_owned(),
                prior_state: prior_state.decode(ty, "prior state")?,
                planned_state: planned_state.decode(ty, "planned state")?,
                config: config.decode(ty, "resource configuration")?,
                planned_private,
            })
        })();
        let request = match decoded {
            Ok(request) => request,
            Err(error) => return failed(error.into()),
        };
        let answer = self.provider.apply_resource_change(request).await;
        encode_state(&answer.new_state, ty, answer.private, answer.diagnostics)
    }

    pub async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportOutcome {
        if let Err(unknown) = self.resource_type(type_name) {
            return ImportOutcome {
                imported: Vec::new(),
                diagnostics: unknown,
            };
        }
        let answer = self.provider.import_resource_state(type_name, id).await;
        let mut diagnostics = answer.diagnostics;
        let mut imported = Vec::with_capacity(answer.imported.len());
        for resource in answer.imported {
            // An import may yield objects of other types than the one asked for.
            let ty = match self.resource_type(&resource.type_name) {
                Ok(ty) => ty,
                Err(unknown) => {
                    diagnostics.extend(unknown);
                    continue;
                }
            };
            match encode_msgpack(&resource.state, ty) {
                Ok(state) => imported.push(ImportedState {
                    type_name: resource.type_name,
                    state,
                    private: resource.private,
                }),
                Err(error) => diagnostics.push(unencodable(&error)),
            }
        }
        ImportOutcome {
            imported,
            diagnostics,
        }
    }
}
