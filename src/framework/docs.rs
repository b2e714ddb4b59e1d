//! Registry-layout documentation generated from the declarations.
//!
//! Rules:
//! - Each page under `docs/` (`index.md` for the provider, `resources/<name>.md`,
//!   `data-sources/<name>.md`, `actions/<name>.md`, where `<name>` is the type name without
//!   the provider prefix) holds hand-written prose and examples, and one generated section
//!   between [`BEGIN`] and [`END`]: every declared attribute and block, with its type, role and
//!   the same description text the schema carries.
//! - `tests/docs.rs` regenerates every section and fails when a committed page differs (an
//!   attribute undocumented, documented but gone, or described differently); running it with
//!   `TFWS_UPDATE_DOCS=1` rewrites the sections instead.

use super::declaration::{Decl, DeclKind, Mode};
use super::registry::{Framework, Kind, ProviderDefinition};
use crate::protocol::cty::Type;
use crate::protocol::schema::Nesting;

/// Opens the generated section of a page.
pub const BEGIN: &str = "<!-- BEGIN GENERATED SCHEMA: edit the declarations in src/, then run `TFWS_UPDATE_DOCS=1 cargo test --test docs` -->";
/// Closes the generated section of a page.
pub const END: &str = "<!-- END GENERATED SCHEMA -->";

/// One page's generated section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedSection {
    /// Relative to `docs/`.
    pub page: String,
    pub markdown: String,
}

/// The generated section of every page a provider has.
pub fn sections<P: ProviderDefinition>(framework: &Framework<P>) -> Vec<GeneratedSection> {
    use super::model::Model;
    let mut out = vec![GeneratedSection {
        page: "index.md".to_owned(),
        markdown: schema_markdown(P::Config::declarations()),
    }];
    let registry = framework.registry();
    for (kind, folder) in [
        (Kind::Resource, "resources"),
        (Kind::DataSource, "data-sources"),
        (Kind::Action, "actions"),
    ] {
        for name in registry.names(kind) {
            if let Some(decls) = registry.declarations(kind, name) {
                let short = name.split_once('_').map_or(name, |(_, rest)| rest);
                out.push(GeneratedSection {
                    page: format!("{folder}/{short}.md"),
                    markdown: schema_markdown(decls),
                });
            }
        }
    }
    out
}

/// `page` with its generated section replaced by `markdown`; `None` when the page lacks the
/// markers.
pub fn splice(page: &str, markdown: &str) -> Option<String> {
    let start = page.find(BEGIN)? + BEGIN.len();
    let end = start + page[start..].find(END)?;
    Some(format!("{}\n{}{}", &page[..start], markdown, &page[end..]))
}

/// The generated section's text currently in `page`.
pub fn current(page: &str) -> Option<&str> {
    let start = page.find(BEGIN)? + BEGIN.len();
    let end = start + page[start..].find(END)?;
    Some(
        page[start..end]
            .strip_prefix('\n')
            .unwrap_or(&page[start..end]),
    )
}

/// The schema of a set of declarations as markdown, to sit under a page's `## Schema`
/// heading: required, optional and read-only attributes, then nested blocks with their own.
pub fn schema_markdown(decls: &[Decl]) -> String {
    let mut out = String::new();
    write_groups(&mut out, decls, "###");
    out
}

fn write_groups(out: &mut String, decls: &[Decl], heading: &str) {
    let groups: [Group; 3] = [
        ("Required", |d| role(d) == Some(Mode::Required)),
        ("Optional", |d| {
            matches!(role(d), Some(Mode::Optional | Mode::OptionalComputed)) || d.block().is_some()
        }),
        ("Read-Only", |d| role(d) == Some(Mode::Computed)),
    ];
    for (title, belongs) in groups {
        let members: Vec<&Decl> = decls.iter().filter(|d| belongs(d)).collect();
        if members.is_empty() {
            continue;
        }
        out.push_str(&format!("{heading} {title}\n\n"));
        for decl in members {
            out.push_str(&format!(
                "- `{}` ({}) {}\n",
                decl.name,
                kind_text(decl),
                decl.full_description()
            ));
        }
        out.push('\n');
    }
    for decl in decls {
        if let DeclKind::Block(block) = &decl.kind {
            out.push_str(&format!("{heading} Nested Schema for `{}`\n\n", decl.name));
            write_groups(out, (block.declarations)(), &format!("{heading}#"));
        }
    }
}

/// A heading and which declarations go under it.
type Group = (&'static str, fn(&Decl) -> bool);

fn role(decl: &Decl) -> Option<Mode> {
    decl.attribute().map(|a| a.mode)
}

fn kind_text(decl: &Decl) -> String {
    match &decl.kind {
        DeclKind::Attribute(attribute) => {
            let mut text = type_text(&attribute.ty);
            if attribute.sensitive {
                text.push_str(", Sensitive");
            }
            text
        }
        DeclKind::Block(block) => match block.nesting {
            Nesting::Single | Nesting::Group => "Block".to_owned(),
            Nesting::List => "Block List".to_owned(),
            Nesting::Set => "Block Set".to_owned(),
            Nesting::Map => "Block Map".to_owned(),
        },
    }
}

/// `Set of String`, `Map of String`, `Number`.
pub fn type_text(ty: &Type) -> String {
    match ty {
        Type::String => "String".to_owned(),
        Type::Number => "Number".to_owned(),
        Type::Bool => "Boolean".to_owned(),
        Type::Dynamic => "Dynamic".to_owned(),
        Type::List(element) => format!("List of {}", type_text(element)),
        Type::Set(element) => format!("Set of {}", type_text(element)),
        Type::Map(element) => format!("Map of {}", type_text(element)),
        Type::Object(_) => "Object".to_owned(),
        Type::Tuple(_) => "Tuple".to_owned(),
    }
}
