//! A small typed model of provider, resource and block schemas.

use super::cty::Type;
use std::collections::BTreeMap;

/// How a nested block may be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    Group,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
}

impl Attribute {
    fn new(name: &str, ty: Type, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            description: description.to_owned(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
        }
    }

    pub fn required(name: &str, ty: Type, description: &str) -> Self {
        Self {
            required: true,
            ..Self::new(name, ty, description)
        }
    }

    pub fn optional(name: &str, ty: Type, description: &str) -> Self {
        Self {
            optional: true,
            ..Self::new(name, ty, description)
        }
    }

    /// Set by the provider, never by the configuration.
    pub fn computed(name: &str, ty: Type, description: &str) -> Self {
        Self {
            computed: true,
            ..Self::new(name, ty, description)
        }
    }

    /// Optional in configuration; the provider fills in a default when it is left out.
    pub fn optional_computed(name: &str, ty: Type, description: &str) -> Self {
        Self {
            optional: true,
            computed: true,
            ..Self::new(name, ty, description)
        }
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub block_types: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
}

impl Block {
    /// The object type of a value conforming to this block: one attribute per attribute and one
    /// per nested block type.
    pub fn value_type(&self) -> Type {
        let mut attributes: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for nested in &self.block_types {
            let inner = nested.block.value_type();
            let ty = match nested.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::List(Box::new(inner)),
                Nesting::Set => Type::Set(Box::new(inner)),
                Nesting::Map => Type::Map(Box::new(inner)),
            };
            attributes.insert(nested.type_name.clone(), ty);
        }
        Type::Object(attributes)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// A versioned schema: the provider configuration, or one resource type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}
