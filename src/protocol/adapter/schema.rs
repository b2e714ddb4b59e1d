//! Schemas to protocol messages. Descriptions are always sent as Markdown.

use super::pb;
use crate::protocol::schema::{Block, Nesting, Schema};
use std::collections::BTreeMap;

pub(crate) fn schema(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block(&schema.block)),
    }
}

/// Every schema of one kind, keyed by type name.
pub(crate) fn schemas<T>(
    schemas: &BTreeMap<String, Schema>,
    wrap: impl Fn(pb::Schema) -> T,
) -> std::collections::HashMap<String, T> {
    schemas
        .iter()
        .map(|(type_name, one)| (type_name.clone(), wrap(schema(one))))
        .collect()
}

fn block(block: &Block) -> pb::schema::Block {
    use pb::schema::nested_block::NestingMode;
    let markdown = pb::StringKind::Markdown as i32;
    let attributes = block
        .attributes
        .iter()
        .map(|attribute| pb::schema::Attribute {
            name: attribute.name.clone(),
            r#type: attribute.ty.to_json_bytes(),
            description: attribute.description.clone(),
            required: attribute.required,
            optional: attribute.optional,
            computed: attribute.computed,
            sensitive: attribute.sensitive,
            description_kind: markdown,
            deprecated: attribute.deprecated,
            ..Default::default()
        })
        .collect();
    let block_types = block
        .block_types
        .iter()
        .map(|nested| pb::schema::NestedBlock {
            type_name: nested.type_name.clone(),
            block: Some(self::block(&nested.block)),
            nesting: match nested.nesting {
                Nesting::Single => NestingMode::Single,
                Nesting::List => NestingMode::List,
                Nesting::Set => NestingMode::Set,
                Nesting::Map => NestingMode::Map,
                Nesting::Group => NestingMode::Group,
            } as i32,
            min_items: nested.min_items,
            max_items: nested.max_items,
        })
        .collect();
    pb::schema::Block {
        version: 0,
        attributes,
        block_types,
        description: block.description.clone(),
        description_kind: markdown,
        deprecated: block.deprecated,
    }
}

/// Everything optional is off: no destroy plans, schema needed every time, no moves, no
/// configuration generation.
pub(crate) fn server_capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: false,
    }
}
