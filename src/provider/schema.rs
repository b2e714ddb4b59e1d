//! The provider configuration schema and the `workspace_app_server_reboot` resource schema.
//! Attribute names live here as constants so the logic cannot drift from the schema.

use crate::protocol::cty::Type;
use crate::protocol::schema::{Attribute, Block, NestedBlock, Nesting, Schema};

/// Provider configuration arguments and their environment fallbacks.
pub mod provider_args {
    pub const REGION: &str = "region";
    pub const PROJECT_ID: &str = "project_id";
    pub const ACCESS_KEY: &str = "access_key";
    pub const SECRET_KEY: &str = "secret_key";
    pub const SECURITY_TOKEN: &str = "security_token";
    pub const TOKEN: &str = "token";
    pub const ENDPOINT: &str = "endpoint";
    pub const CLOUD: &str = "cloud";
    pub const INSECURE: &str = "insecure";
    pub const MAX_RETRIES: &str = "max_retries";
}

/// Attributes of `workspace_app_server_reboot`.
pub mod reboot_attrs {
    pub const ID: &str = "id";
    pub const SERVER_IDS: &str = "server_ids";
    pub const TYPE: &str = "type";
    pub const TRIGGERS: &str = "triggers";
    pub const WAIT_FOR_READY: &str = "wait_for_ready";
    pub const REBOOTED_AT: &str = "rebooted_at";
    pub const TIMEOUTS: &str = "timeouts";
    pub const TIMEOUT_CREATE: &str = "create";
    pub const TIMEOUT_UPDATE: &str = "update";
}

/// The resource type name Terraform uses.
pub const REBOOT_RESOURCE: &str = "workspace_app_server_reboot";

/// Schema version of `workspace_app_server_reboot`. Version 0 had the same shape; the upgrade
/// path from it is kept (and tested) so state written by early builds keeps working.
pub const REBOOT_SCHEMA_VERSION: i64 = 1;

pub fn provider_schema() -> Schema {
    use provider_args::*;
    let string = || Type::String;
    Schema {
        version: 0,
        block: Block {
            description:
                "Reboots Huawei Cloud Workspace APP servers. Every argument may also come \
                          from its environment variable; configuration wins."
                    .to_owned(),
            attributes: vec![
                Attribute::optional(
                    REGION,
                    string(),
                    "Region of the Workspace APP service, e.g. `cn-north-4`. Environment: \
                     `HW_REGION_NAME`. Required unless `endpoint` is set.",
                ),
                Attribute::optional(
                    PROJECT_ID,
                    string(),
                    "Project ID the servers belong to. Environment: `HW_PROJECT_ID`. Required.",
                ),
                Attribute::optional(
                    ACCESS_KEY,
                    string(),
                    "Access key for AK/SK signing. Environment: `HW_ACCESS_KEY`. Set together \
                     with `secret_key`.",
                )
                .sensitive(),
                Attribute::optional(
                    SECRET_KEY,
                    string(),
                    "Secret key for AK/SK signing. Environment: `HW_SECRET_KEY`. Set together \
                     with `access_key`.",
                )
                .sensitive(),
                Attribute::optional(
                    SECURITY_TOKEN,
                    string(),
                    "Security token of temporary AK/SK credentials. Environment: \
                     `HW_SECURITY_TOKEN`. Needs `access_key` and `secret_key`.",
                )
                .sensitive(),
                Attribute::optional(
                    TOKEN,
                    string(),
                    "IAM token, used instead of AK/SK. Environment: `HW_AUTH_TOKEN`.",
                )
                .sensitive(),
                Attribute::optional(
                    ENDPOINT,
                    string(),
                    "Full base URL of the Workspace API (e.g. a private endpoint or a local \
                     simulator), overriding the one derived from `region`. Environment: \
                     `HW_WORKSPACE_ENDPOINT`.",
                ),
                Attribute::optional(
                    CLOUD,
                    string(),
                    "Cloud domain used to derive the endpoint. Environment: `HW_CLOUD`. Default \
                     `myhuaweicloud.com` (`myhuaweicloud.eu` for `eu-west-1*` regions).",
                ),
                Attribute::optional(
                    INSECURE,
                    Type::Bool,
                    "Skip TLS certificate verification altogether: the last resort (trust a private \
                     CA with `SSL_CERT_FILE` instead). Environment: `HW_INSECURE`. Default false.",
                ),
                Attribute::optional(
                    MAX_RETRIES,
                    Type::Number,
                    "How many times a failed request (500/502/503/504, a broken connection, \
                     a timeout) is retried (0 to 20); throttled requests (429) are retried until \
                     the timeout. Environment: `HW_MAX_RETRIES`. Default 5.",
                ),
            ],
            block_types: Vec::new(),
            deprecated: false,
        },
    }
}

pub fn reboot_schema() -> Schema {
    use reboot_attrs::*;
    Schema {
        version: REBOOT_SCHEMA_VERSION,
        block: Block {
            description: "Reboots Workspace APP servers: all of them when created, and again \
                          whenever `triggers` change. Destroying it calls no API."
                .to_owned(),
            attributes: vec![
                Attribute::computed(
                    ID,
                    Type::String,
                    "Identity of this resource, generated when it is created.",
                ),
                Attribute::required(
                    SERVER_IDS,
                    Type::set(Type::String),
                    "IDs of the servers to reboot: at least one, each 1 to 128 characters. Any \
                     number; requests are batched 20 at a time.",
                ),
                Attribute::optional_computed(
                    TYPE,
                    Type::String,
                    "`\"SOFT\"` (normal reboot, the default) or `\"HARD\"` (forced).",
                ),
                Attribute::optional(
                    TRIGGERS,
                    Type::map(Type::String),
                    "Arbitrary values; any change (a key added or removed, a value changed) \
                     reboots the servers again. An absent map and an empty map are the same.",
                ),
                Attribute::optional_computed(
                    WAIT_FOR_READY,
                    Type::Bool,
                    "Wait until every rebooted server is running again. Default true.",
                ),
                Attribute::computed(
                    REBOOTED_AT,
                    Type::String,
                    "RFC 3339 time of the last reboot this resource performed.",
                ),
            ],
            block_types: vec![NestedBlock {
                type_name: TIMEOUTS.to_owned(),
                nesting: Nesting::Single,
                min_items: 0,
                max_items: 0,
                block: Block {
                    description: "Bounds on the whole apply step (reboot and wait).".to_owned(),
                    attributes: vec![
                        Attribute::optional(
                            TIMEOUT_CREATE,
                            Type::String,
                            "Bound on a create, as a duration like `\"30m\"` or `\"90s\"`. \
                             Default 30m.",
                        ),
                        Attribute::optional(
                            TIMEOUT_UPDATE,
                            Type::String,
                            "Bound on an update that reboots, as a duration. Default 30m.",
                        ),
                    ],
                    block_types: Vec::new(),
                    deprecated: false,
                },
            }],
            deprecated: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reboot_schema_shape() {
        let schema = reboot_schema();
        assert_eq!(schema.version, 1);
        let block = &schema.block;
        let attr = |name: &str| {
            block
                .attribute(name)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        assert!(attr("server_ids").required);
        assert_eq!(attr("server_ids").ty, Type::set(Type::String));
        assert!(attr("type").optional && attr("type").computed);
        assert!(attr("wait_for_ready").optional && attr("wait_for_ready").computed);
        assert_eq!(attr("triggers").ty, Type::map(Type::String));
        assert!(attr("triggers").optional && !attr("triggers").computed);
        for computed in ["id", "rebooted_at"] {
            assert!(
                attr(computed).computed && !attr(computed).optional && !attr(computed).required
            );
        }
        assert_eq!(block.block_types.len(), 1);
        let timeouts = &block.block_types[0];
        assert_eq!(timeouts.type_name, "timeouts");
        assert_eq!(timeouts.nesting, Nesting::Single);
        assert!(timeouts
            .block
            .attribute("create")
            .is_some_and(|a| a.optional));
        assert!(timeouts
            .block
            .attribute("update")
            .is_some_and(|a| a.optional));
        let Type::Object(fields) = schema.value_type() else {
            panic!("a block is an object");
        };
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "id",
                "rebooted_at",
                "server_ids",
                "timeouts",
                "triggers",
                "type",
                "wait_for_ready"
            ]
        );
    }

    #[test]
    fn provider_schema_secrets_are_sensitive_and_all_optional() {
        let schema = provider_schema();
        for attribute in &schema.block.attributes {
            assert!(
                attribute.optional && !attribute.required,
                "{}",
                attribute.name
            );
            let secret = ["access_key", "secret_key", "security_token", "token"]
                .contains(&attribute.name.as_str());
            assert_eq!(attribute.sensitive, secret, "{}", attribute.name);
        }
        assert_eq!(schema.block.attributes.len(), 10);
        assert_eq!(
            schema.block.attribute("insecure").map(|a| &a.ty),
            Some(&Type::Bool)
        );
        assert_eq!(
            schema.block.attribute("max_retries").map(|a| &a.ty),
            Some(&Type::Number)
        );
    }
}
