//! The framework with test-only objects: declarations to schema, docs and typed models; the
//! registry's dispatch by kind and name; planning by declared behaviour; the apply split.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::*;
use crate::protocol::cty::{Type, Value as Cty};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::{
    ActionProgress, ApplyRequest, PlanRequest, Provider, ReadDataSourceResponse,
};

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn not_blue(text: &String) -> Vec<Diagnostic> {
    if text == "blue" {
        vec![Diagnostic::error("Invalid colour", "Not blue.")]
    } else {
        Vec::new()
    }
}

crate::model! {
    /// A thing as it is before the new attribute.
    pub struct Thing {
        pub id: Value<String> = Attr::computed()
            .plan(PlanBehaviour::KeepPrior)
            .description("Identity."),
        pub name: Value<String> = Attr::required()
            .plan(PlanBehaviour::RequiresReplace)
            .description("Name of the thing."),
        pub size: Value<String> = Attr::optional_computed()
            .default("M".to_owned())
            .description("Size."),
        pub labels: Value<BTreeMap<String, Value<String>>> =
            Attr::optional().description("Labels; a change makes the apply act."),
        pub touched_at: Value<String> = Attr::computed()
            .plan(PlanBehaviour::UnknownWhenActing)
            .description("When the apply last acted."),
        pub secret: Value<String> = Attr::optional()
            .sensitive()
            .env("THING_SECRET")
            .description("A secret."),
        pub limits: Value<Limits> = Block::single().description("Limits."),
    }
}

crate::model! {
    /// The same thing with one more declaration, and nothing else changed.
    pub struct ThingWithColour {
        pub id: Value<String> = Attr::computed()
            .plan(PlanBehaviour::KeepPrior)
            .description("Identity."),
        pub name: Value<String> = Attr::required()
            .plan(PlanBehaviour::RequiresReplace)
            .description("Name of the thing."),
        pub size: Value<String> = Attr::optional_computed()
            .default("M".to_owned())
            .description("Size."),
        pub labels: Value<BTreeMap<String, Value<String>>> =
            Attr::optional().description("Labels; a change makes the apply act."),
        pub touched_at: Value<String> = Attr::computed()
            .plan(PlanBehaviour::UnknownWhenActing)
            .description("When the apply last acted."),
        pub secret: Value<String> = Attr::optional()
            .sensitive()
            .env("THING_SECRET")
            .description("A secret."),
        pub limits: Value<Limits> = Block::single().description("Limits."),
        pub colour: Value<String> = Attr::optional_computed()
            .default("red".to_owned())
            .validate(not_blue)
            .description("Colour of the thing."),
    }
}

crate::model! {
    /// The `limits` block.
    pub struct Limits {
        pub max: Value<String> = Attr::optional().validate(not_blue).description("Upper bound."),
    }
}

/// What a test double saw.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn push(&self, call: impl Into<String>) {
        if let Ok(mut calls) = self.0.lock() {
            calls.push(call.into());
        }
    }

    fn taken(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

struct ThingResource(Calls);

#[async_trait]
impl Resource<String> for ThingResource {
    type State = Thing;

    fn type_name(&self) -> &'static str {
        "test_thing"
    }

    fn description(&self) -> &'static str {
        "A thing."
    }

    async fn plan(&self, _context: &Context<String>, change: &mut PlanChange<Thing>) {
        if let Some(prior) = &change.prior {
            change.acts = prior.labels != change.planned.labels;
        }
    }

    async fn create(&self, context: &Context<String>, request: Create<Thing>) -> Applied<Thing> {
        self.0.push(format!(
            "create {} with {}",
            request.planned.name.known().map_or("?", |n| n),
            context.data
        ));
        let mut state = request.planned;
        state.id = Value::Known("id-1".to_owned());
        state.touched_at = Value::Known("now".to_owned());
        Applied {
            state: Some(state),
            private: b"p".to_vec(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn update(&self, _context: &Context<String>, request: Update<Thing>) -> Applied<Thing> {
        self.0
            .push(format!("update from {:?}", request.prior.size.known()));
        let mut state = request.planned;
        if state.touched_at.is_unknown() {
            state.touched_at = Value::Known("later".to_owned());
        }
        Applied {
            state: Some(state),
            private: request.private,
            diagnostics: Diagnostics::new(),
        }
    }

    async fn delete(&self, _context: &Context<String>, prior: Thing) -> Diagnostics {
        self.0.push(format!("delete {:?}", prior.id.known()));
        Diagnostics::new()
    }
}

/// An action sharing the resource's name.
struct ThingAction(Calls);

#[async_trait]
impl Action<String> for ThingAction {
    type Config = Thing;

    fn type_name(&self) -> &'static str {
        "test_thing"
    }

    fn description(&self) -> &'static str {
        "Pokes a thing."
    }

    /// Sees the configuration with its defaults; says so in a warning.
    fn plan(&self, config: &Thing) -> Diagnostics {
        Diagnostic::warning(
            "Planned",
            format!("size {:?}", config.size.known().map(String::as_str)),
        )
        .into()
    }

    async fn invoke(
        &self,
        _context: &Context<String>,
        config: Thing,
        progress: ActionProgress,
    ) -> Diagnostics {
        self.0.push(format!(
            "invoke {:?} size {:?}",
            config.name.known(),
            config.size.known()
        ));
        progress.send("poked");
        Diagnostics::new()
    }
}

struct Things;

#[async_trait]
impl DataSource<String> for Things {
    type State = Thing;

    fn type_name(&self) -> &'static str {
        "test_things"
    }

    fn description(&self) -> &'static str {
        "Finds a thing."
    }

    async fn read(
        &self,
        _context: &Context<String>,
        mut config: Thing,
    ) -> Result<Thing, Diagnostics> {
        config.id = Value::Known("found".to_owned());
        Ok(config)
    }
}

crate::model! {
    /// The test provider's configuration.
    pub struct TestConfig {
        pub greeting: Value<String> = Attr::optional().env("TEST_GREETING").description("Said on configure."),
    }
}

struct TestProvider;

#[async_trait]
impl ProviderDefinition for TestProvider {
    type Config = TestConfig;
    type Data = String;

    fn description(&self) -> &'static str {
        "A test provider."
    }

    async fn configure(&self, config: TestConfig, _version: &str) -> (String, Diagnostics) {
        (
            config.greeting.into_known().unwrap_or_default(),
            Diagnostics::new(),
        )
    }
}

fn framework(calls: &Calls) -> Framework<TestProvider> {
    Framework::new(
        TestProvider,
        Registry::new()
            .resource(ThingResource(calls.clone()))
            .action(ThingAction(calls.clone()))
            .data_source(Things),
    )
}

fn config(set: &[(&str, Cty)]) -> Cty {
    let mut object: BTreeMap<String, Cty> = Thing::declarations()
        .iter()
        .map(|decl| (decl.name.to_owned(), Cty::Null))
        .collect();
    for (name, value) in set {
        object.insert((*name).to_owned(), value.clone());
    }
    Cty::Object(object)
}

fn get<'a>(value: &'a Cty, name: &str) -> &'a Cty {
    static NULL: Cty = Cty::Null;
    value.get_attr(name).unwrap_or(&NULL)
}

fn plan_request(prior: &Cty, config: &Cty) -> PlanRequest {
    // Terraform's proposal: the configuration, with computed attributes left out taken from
    // the prior state.
    let mut proposed = config.clone();
    if let (Cty::Object(out), false) = (&mut proposed, prior.is_null()) {
        for name in ["id", "touched_at", "size"] {
            if out.get(name).is_none_or(Cty::is_null) {
                out.insert(name.to_owned(), get(prior, name).clone());
            }
        }
    }
    PlanRequest {
        type_name: "test_thing".to_owned(),
        prior_state: prior.clone(),
        proposed_new_state: if config.is_null() {
            Cty::Null
        } else {
            proposed
        },
        config: config.clone(),
        prior_private: Vec::new(),
    }
}

fn apply_request(prior: &Cty, planned: &Cty, config: &Cty) -> ApplyRequest {
    ApplyRequest {
        type_name: "test_thing".to_owned(),
        prior_state: prior.clone(),
        planned_state: planned.clone(),
        config: config.clone(),
        planned_private: Vec::new(),
    }
}

#[test]
fn a_new_declaration_reaches_schema_docs_and_model() {
    // The schema: the one extra declaration is the one extra attribute, with its role and text.
    let before = model::schema_block(Thing::declarations(), "");
    let after = model::schema_block(ThingWithColour::declarations(), "");
    assert!(before.attribute("colour").is_none());
    let colour = after.attribute("colour").expect("declared");
    assert_eq!(colour.ty, Type::String);
    assert!(colour.optional && colour.computed && !colour.required);
    assert_eq!(
        colour.description,
        "Colour of the thing. Default: `\"red\"`."
    );
    assert_eq!(after.attributes.len(), before.attributes.len() + 1);

    // The docs: the generated section lists it, and a page generated before the declaration
    // no longer passes the check.
    let old_page = format!(
        "# Thing\n\nProse.\n\n{}\n{}{}\n",
        docs::BEGIN,
        docs::schema_markdown(Thing::declarations()),
        docs::END
    );
    let new_section = docs::schema_markdown(ThingWithColour::declarations());
    assert!(new_section.contains("- `colour` (String) Colour of the thing. Default: `\"red\"`."));
    assert_ne!(docs::current(&old_page), Some(new_section.as_str()));
    let regenerated = docs::splice(&old_page, &new_section).expect("markers");
    assert_eq!(docs::current(&regenerated), Some(new_section.as_str()));
    assert!(regenerated.starts_with("# Thing\n\nProse.\n"));

    // The typed model: decoded, validated and encoded with the rest.
    let value = config(&[("name", Cty::string("n")), ("colour", Cty::string("green"))]);
    let thing = ThingWithColour::decode(&value).expect("decodes");
    assert_eq!(thing.colour, Value::Known("green".to_owned()));
    assert_eq!(thing.encode(), value);
    let blue = config(&[("name", Cty::string("n")), ("colour", Cty::string("blue"))]);
    let diagnostics = declaration::validate_object(
        ThingWithColour::declarations(),
        &blue,
        &AttributePath::root(),
    );
    assert_eq!(
        diagnostics.0[0].attribute,
        Some(AttributePath::attribute("colour"))
    );
    assert!(Thing::decode(&blue).is_ok(), "the old model ignores it");
}

#[test]
fn docs_group_attributes_and_show_defaults_sensitivity_and_variables() {
    let section = docs::schema_markdown(Thing::declarations());
    let expected = "### Required\n\n\
        - `name` (String) Name of the thing.\n\n\
        ### Optional\n\n\
        - `size` (String) Size. Default: `\"M\"`.\n\
        - `labels` (Map of String) Labels; a change makes the apply act.\n\
        - `secret` (String, Sensitive) A secret. Environment variable: `THING_SECRET`.\n\
        - `limits` (Block) Limits.\n\n\
        ### Read-Only\n\n\
        - `id` (String) Identity.\n\
        - `touched_at` (String) When the apply last acted.\n\n\
        ### Nested Schema for `limits`\n\n\
        #### Optional\n\n\
        - `max` (String) Upper bound.\n\n";
    assert_eq!(section, expected);
}

#[test]
fn decoding_reports_every_bad_field_at_its_path_and_debug_hides_secrets() {
    let bad = config(&[
        ("name", Cty::Bool(true)),
        ("limits", Cty::object([("max", Cty::Bool(false))])),
    ]);
    let Err(diagnostics) = Thing::decode(&bad) else {
        panic!("a bool is not a string");
    };
    let paths: Vec<String> = diagnostics
        .iter()
        .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(paths, ["name", "limits.max"]);
    let thing = Thing::decode(&config(&[("secret", Cty::string("hunter2"))])).expect("decodes");
    let shown = format!("{thing:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("secret: Known(<redacted>)"),
        "{shown}"
    );
}

#[tokio::test]
async fn plans_fill_defaults_and_computed_attributes_by_behaviour() {
    let calls = Calls::default();
    let provider = framework(&calls);
    let create_config = config(&[("name", Cty::string("n"))]);
    let planned = provider
        .plan_resource_change(plan_request(&Cty::Null, &create_config))
        .await;
    assert!(planned.diagnostics.is_empty(), "{:#?}", planned.diagnostics);
    let state = &planned.planned_state;
    assert_eq!(get(state, "size"), &Cty::string("M"));
    assert!(get(state, "id").is_unknown() && get(state, "touched_at").is_unknown());
    assert!(get(state, "labels").is_null());

    let prior = config(&[
        ("id", Cty::string("id-1")),
        ("name", Cty::string("n")),
        ("size", Cty::string("L")),
        ("touched_at", Cty::string("then")),
    ]);
    // No act: computed attributes keep their prior values; a removed optional+computed
    // attribute plans its default, not the prior value.
    let quiet = provider
        .plan_resource_change(plan_request(&prior, &create_config))
        .await;
    assert_eq!(get(&quiet.planned_state, "id"), &Cty::string("id-1"));
    assert_eq!(
        get(&quiet.planned_state, "touched_at"),
        &Cty::string("then")
    );
    assert_eq!(get(&quiet.planned_state, "size"), &Cty::string("M"));
    assert!(quiet.requires_replace.is_empty());
    // The resource says it acts: `touched_at` becomes unknown, `id` stays.
    let labelled = config(&[
        ("name", Cty::string("n")),
        (
            "labels",
            Cty::Map(BTreeMap::from([("k".to_owned(), Cty::unknown())])),
        ),
    ]);
    let acting = provider
        .plan_resource_change(plan_request(&prior, &labelled))
        .await;
    assert!(get(&acting.planned_state, "touched_at").is_unknown());
    assert_eq!(get(&acting.planned_state, "id"), &Cty::string("id-1"));
    // Configured values, unknown elements included, are planned exactly as configured.
    assert_eq!(
        get(&acting.planned_state, "labels"),
        get(&labelled, "labels")
    );
    // An optional + computed attribute the resource leaves alone is planned exactly as
    // proposed: a refined unknown value keeps its refinements.
    let refined = Cty::Unknown(crate::protocol::cty::Refinements {
        nullable: Some(false),
        string_prefix: Some("X".to_owned()),
        ..Default::default()
    });
    let sized = config(&[("name", Cty::string("n")), ("size", refined.clone())]);
    let planned = provider
        .plan_resource_change(plan_request(&prior, &sized))
        .await;
    assert_eq!(get(&planned.planned_state, "size"), &refined);
    // A renamed thing is replaced.
    let renamed = provider
        .plan_resource_change(plan_request(&prior, &config(&[("name", Cty::string("m"))])))
        .await;
    assert_eq!(renamed.requires_replace, [AttributePath::attribute("name")]);
    // Declared validators run at plan time, at the nested path.
    let invalid = config(&[
        ("name", Cty::string("n")),
        ("limits", Cty::object([("max", Cty::string("blue"))])),
    ]);
    let refused = provider
        .plan_resource_change(plan_request(&Cty::Null, &invalid))
        .await;
    assert_eq!(
        refused.diagnostics.0[0].attribute,
        Some(AttributePath::attribute("limits").then_attribute("max"))
    );
    // Destroy plans null.
    let destroy = provider
        .plan_resource_change(plan_request(&prior, &Cty::Null))
        .await;
    assert_eq!(destroy.planned_state, Cty::Null);
    assert!(calls.taken().is_empty(), "planning applies nothing");
}

#[tokio::test]
async fn apply_is_split_into_create_update_and_delete_with_the_configured_data() {
    let calls = Calls::default();
    let provider = framework(&calls);
    let greeting = TestConfig::decode(&Cty::object([("greeting", Cty::string("hello"))]))
        .map(|c| c.encode())
        .expect("decodes");
    assert!(provider.configure(&greeting, "1.0.3").await.is_empty());

    let cfg = config(&[("name", Cty::string("n"))]);
    let planned = provider
        .plan_resource_change(plan_request(&Cty::Null, &cfg))
        .await;
    let created = provider
        .apply_resource_change(apply_request(&Cty::Null, &planned.planned_state, &cfg))
        .await;
    assert_eq!(get(&created.new_state, "id"), &Cty::string("id-1"));
    assert_eq!(created.private, b"p");

    let planned = provider
        .plan_resource_change(plan_request(&created.new_state, &cfg))
        .await;
    let updated = provider
        .apply_resource_change(apply_request(
            &created.new_state,
            &planned.planned_state,
            &cfg,
        ))
        .await;
    assert_eq!(get(&updated.new_state, "touched_at"), &Cty::string("now"));

    let deleted = provider
        .apply_resource_change(apply_request(&updated.new_state, &Cty::Null, &Cty::Null))
        .await;
    assert_eq!(deleted.new_state, Cty::Null);
    assert_eq!(
        calls.taken(),
        [
            "create n with hello",
            "update from Some(\"M\")",
            "delete Some(\"id-1\")"
        ]
    );
}

#[tokio::test]
async fn kinds_are_separate_name_spaces_and_a_miss_is_one_internal_error() {
    let calls = Calls::default();
    let provider = framework(&calls);
    let schemas = provider.schemas();
    assert_eq!(schemas.resources.keys().collect::<Vec<_>>(), ["test_thing"]);
    assert_eq!(schemas.actions.keys().collect::<Vec<_>>(), ["test_thing"]);
    assert_eq!(
        schemas.data_sources.keys().collect::<Vec<_>>(),
        ["test_things"]
    );
    assert_eq!(
        schemas.actions["test_thing"].block.description,
        "Pokes a thing."
    );
    assert!(schemas.provider.block.attribute("greeting").is_some());

    let cfg = config(&[("name", Cty::string("n"))]);
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let invoked = provider
        .invoke_action("test_thing", cfg.clone(), ActionProgress::new(sender))
        .await;
    assert!(invoked.is_empty());
    assert_eq!(receiver.recv().await.as_deref(), Some("poked"));
    // `size` was left out (null): the declared default is filled in before the action sees it.
    assert_eq!(calls.taken(), ["invoke Some(\"n\") size Some(\"M\")"]);
    // An action schema has no optional + computed attribute: it is advertised as optional.
    let size = schemas.actions["test_thing"].block.attribute("size");
    assert!(size.is_some_and(|a| a.optional && !a.computed), "{size:?}");
    let size = schemas.resources["test_thing"].block.attribute("size");
    assert!(size.is_some_and(|a| a.optional && a.computed), "{size:?}");
    // Planning an action validates it and does nothing else.
    let blue = config(&[
        ("name", Cty::string("n")),
        ("limits", Cty::object([("max", Cty::string("blue"))])),
    ]);
    let refused = provider.plan_action("test_thing", &blue).await;
    assert!(refused.has_errors());
    // The action's own plan runs only once validation passed…
    assert!(!refused.iter().any(|d| d.summary == "Planned"));
    assert!(calls.taken().is_empty());
    // …and sees the declared defaults filled in; validation alone does not call it.
    let planned = provider.plan_action("test_thing", &cfg).await;
    let said: Vec<&str> = planned.iter().map(|d| d.detail.as_str()).collect();
    assert_eq!(said, ["size Some(\"M\")"]);
    assert!(provider
        .validate_action_config("test_thing", &cfg)
        .await
        .is_empty());
    assert!(calls.taken().is_empty());

    let ReadDataSourceResponse { state, diagnostics } =
        provider.read_data_source("test_things", cfg.clone()).await;
    assert!(diagnostics.is_empty());
    assert_eq!(get(&state, "id"), &Cty::string("found"));

    // Unknown names: the same single internal error whatever the kind or method.
    let misses = [
        provider.validate_resource_config("test_other", &cfg).await,
        provider
            .validate_data_source_config("test_thing", &cfg)
            .await,
        provider.plan_action("test_things", &cfg).await,
        provider
            .import_resource_state("test_other", "x")
            .await
            .diagnostics,
        provider
            .read_resource("test_other", Cty::Null, Vec::new())
            .await
            .diagnostics,
    ];
    for diagnostics in misses {
        assert_eq!(diagnostics.0.len(), 1);
        assert_eq!(diagnostics.0[0].summary, "Internal error: unknown type");
    }
    // Import is refused by default.
    assert!(provider
        .import_resource_state("test_thing", "x")
        .await
        .diagnostics
        .has_errors());
}

#[test]
fn json_state_reads_declared_attributes_only() {
    let raw = serde_json::json!({"name": "n", "gone": 1, "limits": {"max": "3"}});
    let thing: Thing = state_from_json("test_thing", &raw).expect("reads");
    assert_eq!(thing.name, Value::Known("n".to_owned()));
    assert_eq!(
        thing.limits.known().map(|l| l.max.clone()),
        Some(Value::Known("3".to_owned()))
    );
    let Err(wrong) = state_from_json::<Thing>("test_thing", &serde_json::json!({"labels": [1]}))
    else {
        panic!("a list is not a map");
    };
    assert_eq!(
        wrong.0[0].attribute,
        Some(AttributePath::attribute("labels"))
    );
}
