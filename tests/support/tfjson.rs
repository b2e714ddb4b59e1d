//! Reading the JSON that `terraform providers schema -json` and `terraform show -json` print.
//! Lookups return `Option` so tests can assert on absence too.

use serde_json::Value;

/// The schema entry of this provider (`provider_schemas["registry.../tfws/workspace"]`), under
/// whichever registry host the CLI used.
pub fn provider_schemas(schemas: &Value) -> Option<&Value> {
    schemas
        .get("provider_schemas")?
        .as_object()?
        .iter()
        .find(|(address, _)| address.ends_with("/tfws/workspace"))
        .map(|(_, schema)| schema)
}

/// The provider configuration block: `provider.block`.
pub fn provider_config_block(schemas: &Value) -> Option<&Value> {
    provider_schemas(schemas)?.pointer("/provider/block")
}

/// A resource type's block: `resource_schemas[<type>].block`.
pub fn resource_block<'a>(schemas: &'a Value, resource_type: &str) -> Option<&'a Value> {
    provider_schemas(schemas)?
        .get("resource_schemas")?
        .get(resource_type)?
        .get("block")
}

/// One attribute of a block: `block.attributes[<name>]`.
pub fn block_attribute<'a>(block: &'a Value, name: &str) -> Option<&'a Value> {
    block.get("attributes")?.get(name)
}

/// A resource in `show -json` state output: `values.root_module.resources[address == ...]`.
pub fn state_resource<'a>(show: &'a Value, address: &str) -> Option<&'a Value> {
    show.pointer("/values/root_module/resources")?
        .as_array()?
        .iter()
        .find(|resource| resource.get("address").and_then(Value::as_str) == Some(address))
}

/// The attribute values of a resource in state.
pub fn state_values<'a>(show: &'a Value, address: &str) -> Option<&'a Value> {
    state_resource(show, address)?.get("values")
}

/// Addresses of every resource in state (empty for an empty state).
pub fn state_addresses(show: &Value) -> Vec<String> {
    show.pointer("/values/root_module/resources")
        .and_then(Value::as_array)
        .map(|resources| {
            resources
                .iter()
                .filter_map(|resource| resource.get("address").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The planned actions (`["create"]`, `["update"]`, `["no-op"]`, `["delete","create"]`, …) for
/// a resource in `show -json <planfile>` output.
pub fn planned_actions(plan: &Value, address: &str) -> Option<Vec<String>> {
    let change = plan
        .get("resource_changes")?
        .as_array()?
        .iter()
        .find(|change| change.get("address").and_then(Value::as_str) == Some(address))?;
    let actions = change.pointer("/change/actions")?.as_array()?;
    Some(
        actions
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    )
}

/// Whether `attribute` of `address` is unknown ("known after apply") in the plan.
pub fn planned_unknown(plan: &Value, address: &str, attribute: &str) -> Option<bool> {
    let change = plan
        .get("resource_changes")?
        .as_array()?
        .iter()
        .find(|change| change.get("address").and_then(Value::as_str) == Some(address))?;
    let unknown = change.pointer("/change/after_unknown")?;
    Some(
        unknown
            .get(attribute)
            .and_then(Value::as_bool)
            .unwrap_or(false),
    )
}
