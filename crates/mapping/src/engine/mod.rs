//! The mapping engine: one resource's mapping compiled once, then applied to batches of raw
//! items, exactly as Python Ocean's `JQEntityProcessor` applies it.
//!
//! [`CompiledResource::compile`] never fails: an expression that does not compile is kept as a
//! [`CompileProblem`] and evaluates to `null`, as in Ocean. [`CompiledResource::map_items`] runs
//! the selector and the mapping on each item and returns a [`BatchOutcome`]: the entities plus
//! every per-item problem as data (selector errors, skipped items, misconfigured fields), and a
//! batch-level error only where Ocean fails the whole batch (an icon that is a list or an
//! object). Items-to-parse expansion (`itemsToParse`) is a separate step,
//! [`CompiledResource::expand_items_to_parse`], because Ocean applies it only on some paths.
//!
//! A compiled resource is `Send + Sync`; items and results ([`Val`]) stay on the thread that
//! built them, so several threads can each map their own batches with one compiled resource.
//! Nothing here does I/O.

use crate::config::{MappingValue, ResourceConfig, SearchQuery, SearchRule};
use crate::fast;
use crate::jq::{self, CompileError, Env, First, Program, Val, num, read};
use indexmap::IndexMap;
use ocean_model::Entity;
use serde_json::{Map, Value};
use std::fmt;
use std::rc::Rc;

/// Settings of the engine that Ocean reads from its own configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Ocean's `allow_environment_variables_jq_access` (default true): when false, `env` and
    /// `$ENV` are `{}` in every expression.
    pub allow_env_access: bool,
    /// The variables `env` and `$ENV` expose when access is allowed.
    pub env: Env,
    /// Ocean's `yield_items_to_parse_batch_size` (default 200): children of one parent are
    /// mapped in batches of at most this many.
    pub items_to_parse_batch_size: usize,
    /// Evaluate the common expression shapes natively instead of through jaq (default true;
    /// both give the same results, the native path is faster).
    pub native_fast_paths: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            allow_env_access: true,
            env: Env::default(),
            items_to_parse_batch_size: 200,
            native_fast_paths: true,
        }
    }
}

impl EngineOptions {
    /// Default options exposing the given environment variables to `env`/`$ENV`.
    pub fn with_env(vars: impl IntoIterator<Item = (String, String)>) -> EngineOptions {
        EngineOptions {
            env: Env::new(vars),
            ..EngineOptions::default()
        }
    }
}

/// An expression of the mapping that does not compile. It evaluates to `null` (and, for a
/// selector, makes every item an error), as in Ocean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileProblem {
    /// The resource's kind.
    pub kind: String,
    /// Where the expression sits (`selector.query`, `port.entity.mappings.properties.url`,
    /// `port.itemsToParse`).
    pub field: String,
    /// The expression as written in the mapping.
    pub expression: String,
    /// The compiler's message.
    pub message: String,
}

impl fmt::Display for CompileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kind '{}': {} = {:?} does not compile: {}",
            self.kind, self.field, self.expression, self.message
        )
    }
}

/// An item whose selector did not give a boolean (a per-item error: the item is not mapped, and
/// a resync with such errors skips its delete phase).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorError {
    /// Position of the item in the batch.
    pub item: usize,
    /// What went wrong, in Ocean's words.
    pub message: String,
}

/// Why a whole batch failed, as in Ocean (nothing of the batch is upserted).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("entity {identifier} of kind '{kind}': {message}")]
pub struct BatchError {
    /// The resource's kind.
    pub kind: String,
    /// The identifier of the entity that failed validation, as JSON.
    pub identifier: String,
    /// What failed.
    pub message: String,
}

/// What mapping one batch of items produced.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// Entities of items whose selector passed, in input order.
    pub entities: Vec<Entity>,
    /// Entities of items whose selector was false (only with `parse_all`, the live-event path:
    /// deletion candidates).
    pub failed_selector_entities: Vec<Entity>,
    /// Items whose selector gave `false` (dropped on the resync path).
    pub selector_dropped: usize,
    /// Items whose selector errored or gave a non-boolean.
    pub selector_errors: Vec<SelectorError>,
    /// Mapped items skipped for a falsy identifier or blueprint.
    pub skipped: usize,
    /// Fields that evaluated to null: dotted path → the expression as written (`None` for a
    /// YAML-null field). Merged over the mapped items of the batch.
    pub misconfigured: IndexMap<String, Option<String>>,
    /// Why a null field was null when its expression failed: dotted path → jq's message for the
    /// first item it failed on (a field that merely gave `null` or no output has no entry).
    pub field_errors: IndexMap<String, String>,
    /// Set when Ocean fails the whole batch; `entities` and `failed_selector_entities` are then
    /// empty.
    pub batch_error: Option<BatchError>,
}

/// Why a parent item produced no children during items-to-parse expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct ParentSkip {
    /// Position of the parent in the input.
    pub item: usize,
    /// Ocean's warning.
    pub reason: String,
}

/// The result of items-to-parse expansion.
#[derive(Debug, Default)]
pub struct Expansion {
    /// Batches of child items (at most `items_to_parse_batch_size` children of one parent each),
    /// in order.
    pub batches: Vec<Vec<Val>>,
    /// Parents that produced nothing, with Ocean's reason.
    pub skipped_parents: Vec<ParentSkip>,
}

/// A compiled expression and what it came from.
#[derive(Debug, Clone)]
struct Expr {
    /// As written in the mapping (what misconfiguration reports show).
    source: String,
    code: Result<Code, CompileError>,
}

#[derive(Debug, Clone)]
enum Code {
    Fast(fast::Expr),
    Jaq(Program),
}

impl Expr {
    fn compile(source: &str, options: &EngineOptions) -> Expr {
        // The native subset never reads `env`/`$ENV`, so the environment shadowing Ocean adds
        // when access is off cannot change its result.
        let fast = if options.native_fast_paths {
            fast::Expr::parse(&jq::rewrite_single_quotes(source))
        } else {
            None
        };
        let code = match fast {
            Some(f) => Ok(Code::Fast(f)),
            None => jq::compile(&jq::preprocess(source, options.allow_env_access)).map(Code::Jaq),
        };
        Expr {
            source: source.to_owned(),
            code,
        }
    }

    fn first(&self, input: &Val, env: &Val) -> First {
        match &self.code {
            Ok(Code::Fast(f)) => f.first(input),
            Ok(Code::Jaq(p)) => p.first(input.clone(), env),
            Err(e) => First::Error(e.message.clone()),
        }
    }
}

/// A mapping leaf: an expression (possibly a YAML null) or a search query.
#[derive(Debug, Clone)]
enum Leaf {
    Expr(Option<Expr>),
    Query(Query),
}

#[derive(Debug, Clone)]
struct Query {
    combinator: Expr,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
enum Rule {
    Rule {
        property: Expr,
        operator: Expr,
        value: Expr,
    },
    Group(Query),
}

#[derive(Debug, Clone)]
struct ItemsToParse {
    expr: Expr,
    name: String,
    /// `. | del(<path>)` when the top-level transform is on.
    transform: Option<Expr>,
}

/// One resource's mapping, compiled. `Send + Sync`: share it between threads.
#[derive(Debug, Clone)]
pub struct CompiledResource {
    kind: String,
    selector: Expr,
    identifier: Leaf,
    title: Option<Leaf>,
    blueprint: Leaf,
    icon: Option<Leaf>,
    team: Option<Leaf>,
    properties: Option<Vec<(String, Leaf)>>,
    relations: Option<Vec<(String, Leaf)>>,
    items_to_parse: Option<ItemsToParse>,
    problems: Vec<CompileProblem>,
    env: Env,
    allow_env_access: bool,
    batch_size: usize,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledResource>();
};

struct Compiler<'a> {
    kind: &'a str,
    options: &'a EngineOptions,
    problems: Vec<CompileProblem>,
}

impl Compiler<'_> {
    fn expr(&mut self, field: &str, source: &str) -> Expr {
        let e = Expr::compile(source, self.options);
        self.note(field, &e);
        e
    }

    fn note(&mut self, field: &str, e: &Expr) {
        if let Err(err) = &e.code {
            self.problems.push(CompileProblem {
                kind: self.kind.to_owned(),
                field: field.to_owned(),
                expression: e.source.clone(),
                message: err.message.clone(),
            });
        }
    }

    fn value(&mut self, field: &str, v: &MappingValue) -> Leaf {
        match v {
            MappingValue::Expr(e) => Leaf::Expr(Some(self.expr(field, e))),
            MappingValue::Query(q) => Leaf::Query(self.query(field, q)),
        }
    }

    fn query(&mut self, field: &str, q: &SearchQuery) -> Query {
        Query {
            combinator: self.expr(&format!("{field}.combinator"), &q.combinator),
            rules: q
                .rules
                .iter()
                .map(|r| match r {
                    SearchRule::Rule {
                        property,
                        operator,
                        value,
                    } => Rule::Rule {
                        property: self.expr(&format!("{field}.rules.property"), property),
                        operator: self.expr(&format!("{field}.rules.operator"), operator),
                        value: self.expr(&format!("{field}.rules.value"), value),
                    },
                    SearchRule::Query(q) => Rule::Group(self.query(&format!("{field}.rules"), q)),
                })
                .collect(),
        }
    }

    fn optional(&mut self, field: &str, v: &Option<Option<String>>) -> Option<Leaf> {
        v.as_ref()
            .map(|e| Leaf::Expr(e.as_ref().map(|e| self.expr(field, e))))
    }
}

const MAPPINGS: &str = "port.entity.mappings";

impl CompiledResource {
    /// Compiles every expression of `resource` once. Never fails: expressions that do not
    /// compile are listed in [`CompiledResource::compile_problems`] and evaluate to `null`.
    pub fn compile(resource: &ResourceConfig, options: &EngineOptions) -> CompiledResource {
        let mut c = Compiler {
            kind: &resource.kind,
            options,
            problems: Vec::new(),
        };
        let m = &resource.port.entity.mappings;
        let selector = c.expr("selector.query", &resource.selector.query);
        let identifier = c.value(&format!("{MAPPINGS}.identifier"), &m.identifier);
        let title = c.optional(&format!("{MAPPINGS}.title"), &m.title);
        let blueprint = Leaf::Expr(Some(c.expr(&format!("{MAPPINGS}.blueprint"), &m.blueprint)));
        let icon = c.optional(&format!("{MAPPINGS}.icon"), &m.icon);
        let team = m.team.as_ref().map(|t| match t {
            None => Leaf::Expr(None),
            Some(v) => c.value(&format!("{MAPPINGS}.team"), v),
        });
        let properties = m.properties.as_ref().map(|props| {
            props
                .iter()
                .map(|(k, e)| {
                    let field = format!("{MAPPINGS}.properties.{k}");
                    (k.clone(), Leaf::Expr(Some(c.expr(&field, e))))
                })
                .collect()
        });
        let relations = m.relations.as_ref().map(|rels| {
            rels.iter()
                .map(|(k, v)| (k.clone(), c.value(&format!("{MAPPINGS}.relations.{k}"), v)))
                .collect()
        });
        let items_to_parse = resource.port.items_to_parse.as_ref().map(|source| {
            let expr = c.expr("port.itemsToParse", source);
            let transform = resource.port.items_to_parse_top_level_transform().then(|| {
                let path = deletion_path(source).unwrap_or_else(|| ".".to_owned());
                let text = format!(". | del({path})");
                let e = Expr::compile(&text, options);
                c.note("port.itemsToParse (top-level transform)", &e);
                e
            });
            ItemsToParse {
                expr,
                name: resource.port.items_to_parse_name().to_owned(),
                transform,
            }
        });
        CompiledResource {
            kind: resource.kind.clone(),
            selector,
            identifier,
            title,
            blueprint,
            icon,
            team,
            properties,
            relations,
            items_to_parse,
            problems: c.problems,
            env: options.env.clone(),
            allow_env_access: options.allow_env_access,
            batch_size: options.items_to_parse_batch_size.max(1),
        }
    }

    /// The resource's kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Expressions that did not compile (each evaluates to null; a selector that does not
    /// compile makes every item a selector error).
    pub fn compile_problems(&self) -> &[CompileProblem] {
        &self.problems
    }

    /// Whether the resource has `itemsToParse`.
    pub fn has_items_to_parse(&self) -> bool {
        self.items_to_parse.is_some()
    }

    fn env_val(&self) -> Val {
        if self.allow_env_access {
            self.env.to_val()
        } else {
            Val::obj(Default::default())
        }
    }

    /// Expands parents with `itemsToParse` (`docs/mapping.md` §5): one child per element of the
    /// array the expression yields, `{...parent, <itemsToParseName>: element}`, with the array
    /// deleted from the parent when the top-level transform is on, in batches of at most
    /// `items_to_parse_batch_size` children per parent. Without `itemsToParse` the items come
    /// back as one batch.
    pub fn expand_items_to_parse(&self, items: Vec<Val>) -> Expansion {
        let Some(itp) = &self.items_to_parse else {
            return Expansion {
                batches: if items.is_empty() {
                    Vec::new()
                } else {
                    vec![items]
                },
                skipped_parents: Vec::new(),
            };
        };
        let env = self.env_val();
        let name: Rc<str> = Rc::from(itp.name.as_str());
        let mut out = Expansion::default();
        for (index, parent) in items.into_iter().enumerate() {
            let data = python_round_trip(&itp.expr.first(&parent, &env).or_null());
            let base = match &itp.transform {
                Some(t) => match t.first(&parent, &env).or_null() {
                    Val::Null => {
                        out.skipped_parents.push(ParentSkip {
                            item: index,
                            reason: format!(
                                "Top-level transform '{}' returned None for item, skipping...",
                                t.source
                            ),
                        });
                        continue;
                    }
                    v => python_round_trip(&v),
                },
                None => parent,
            };
            let Val::Arr(elements) = data else {
                out.skipped_parents.push(ParentSkip {
                    item: index,
                    reason: format!(
                        "Failed to parse items for JQ expression {}, Expected list but got {}. Skipping...",
                        itp.expr.source,
                        python_type_name(&data)
                    ),
                });
                continue;
            };
            for chunk in elements.chunks(self.batch_size) {
                let batch = chunk
                    .iter()
                    .map(|e| with_key(&base, &name, e.clone()))
                    .collect();
                out.batches.push(batch);
            }
        }
        out
    }

    /// Maps raw items given as JSON values with items-to-parse expansion applied first (Ocean's
    /// generator resync path and live events): one outcome per expanded batch, plus the parents
    /// expansion skipped. Without `itemsToParse` this is one [`Self::map_values`] batch.
    pub fn map_values_expanded(
        &self,
        items: &[Value],
        parse_all: bool,
    ) -> (Vec<BatchOutcome>, Vec<ParentSkip>) {
        let items: Vec<Val> = items.iter().map(read::from_json).collect();
        let expansion = self.expand_items_to_parse(items);
        let outcomes = expansion
            .batches
            .iter()
            .map(|batch| self.map_items(batch, parse_all))
            .collect();
        (outcomes, expansion.skipped_parents)
    }

    /// Maps a JSON array of raw items given as bytes (what HTTP fetchers receive): parsed
    /// straight into jq values, keeping number literals as jq 1.8 does. Fails only when the
    /// bytes are not a JSON array.
    pub fn map_json_bytes(
        &self,
        bytes: &[u8],
        parse_all: bool,
    ) -> Result<BatchOutcome, read::JsonError> {
        let items = read::Reader::new().parse_array(bytes)?;
        Ok(self.map_items(&items, parse_all))
    }

    /// Maps raw items given as JSON values (what integrations fetch).
    pub fn map_values(&self, items: &[Value], parse_all: bool) -> BatchOutcome {
        let items: Vec<Val> = items.iter().map(read::from_json).collect();
        self.map_items(&items, parse_all)
    }

    /// The live-event pass restricted to what it adds to the resync pass: the items whose
    /// selector gives `false`, mapped with `parse_all` (their entities are the
    /// `failed_selector_entities`, and a batch error among them fails the live-event batch).
    /// The items whose selector passes map the same way on both paths.
    pub fn map_failed_selector_items(&self, items: &[Val]) -> BatchOutcome {
        let env = self.env_val();
        let false_items: Vec<Val> = items
            .iter()
            .filter(|item| {
                matches!(
                    self.selector.first(item, &env),
                    First::Value(Val::Bool(false))
                )
            })
            .cloned()
            .collect();
        self.map_items(&false_items, true)
    }

    /// Maps one batch of raw items (`docs/mapping.md` §4): selector, mapping leaves, entity
    /// acceptance. `parse_all` is Ocean's live-event mode: items whose selector is false are
    /// mapped too and returned as `failed_selector_entities`.
    pub fn map_items(&self, items: &[Val], parse_all: bool) -> BatchOutcome {
        let env = self.env_val();
        let mut out = BatchOutcome::default();
        let mut accepted: Vec<(bool, Entity)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let passed = match self.selector.first(item, &env) {
                First::Value(Val::Bool(b)) => b,
                First::Value(other) => {
                    out.selector_errors.push(SelectorError {
                        item: index,
                        message: format!(
                            "Expected boolean value for pattern {:?}, got value:{} of type: {} instead",
                            self.selector.source,
                            python_display(&other),
                            python_class(&other)
                        ),
                    });
                    continue;
                }
                First::Empty => {
                    out.selector_errors.push(SelectorError {
                        item: index,
                        message: format!("selector {:?} produced no output", self.selector.source),
                    });
                    continue;
                }
                First::Error(e) => {
                    out.selector_errors.push(SelectorError {
                        item: index,
                        message: e,
                    });
                    continue;
                }
            };
            if !passed {
                out.selector_dropped += 1;
                if !parse_all {
                    continue;
                }
            }
            let mut ev = Eval {
                input: item,
                env: &env,
                misconfigured: &mut out.misconfigured,
                field_errors: &mut out.field_errors,
            };
            let identifier = ev.leaf("identifier", &self.identifier);
            let blueprint = ev.leaf("blueprint", &self.blueprint);
            let title = self.title.as_ref().map(|l| ev.leaf("title", l));
            let icon = self.icon.as_ref().map(|l| ev.leaf("icon", l));
            let team = self.team.as_ref().map(|l| ev.leaf("team", l));
            let properties = self.properties.as_ref().map(|props| {
                props
                    .iter()
                    .map(|(k, l)| (k.clone(), ev.leaf(&format!("properties.{k}"), l)))
                    .collect::<Map<String, Value>>()
            });
            let relations = self.relations.as_ref().map(|rels| {
                rels.iter()
                    .map(|(k, l)| (k.clone(), ev.leaf(&format!("relations.{k}"), l)))
                    .collect::<Map<String, Value>>()
            });
            if !(python_truthy(&identifier) && python_truthy(&blueprint)) {
                out.skipped += 1;
                continue;
            }
            if out.batch_error.is_some() {
                continue;
            }
            let icon = match icon.map(coerce_icon) {
                Some(Err(message)) => {
                    out.batch_error = Some(BatchError {
                        kind: self.kind.clone(),
                        identifier: identifier.to_string(),
                        message,
                    });
                    continue;
                }
                Some(Ok(v)) => Some(v),
                None => None,
            };
            let entity = Entity {
                identifier,
                blueprint,
                title,
                icon,
                team: team.map(coerce_team),
                properties,
                relations,
            };
            accepted.push((passed, entity));
        }
        if out.batch_error.is_none() {
            for (passed, entity) in accepted {
                if passed {
                    out.entities.push(entity);
                } else {
                    out.failed_selector_entities.push(entity);
                }
            }
        }
        out
    }
}

/// Evaluates mapping leaves for one item and records null leaves (and, for those that failed,
/// jq's message).
struct Eval<'a> {
    input: &'a Val,
    env: &'a Val,
    misconfigured: &'a mut IndexMap<String, Option<String>>,
    field_errors: &'a mut IndexMap<String, String>,
}

impl Eval<'_> {
    fn expr(&mut self, path: &str, e: &Expr) -> Value {
        let v = match e.first(self.input, self.env) {
            First::Value(v) => read::to_json(&v),
            First::Empty => Value::Null,
            First::Error(message) => {
                if !self.field_errors.contains_key(path) {
                    self.field_errors.insert(path.to_owned(), message);
                }
                Value::Null
            }
        };
        if v.is_null() {
            self.misconfigured
                .insert(path.to_owned(), Some(e.source.clone()));
        }
        v
    }

    fn leaf(&mut self, path: &str, leaf: &Leaf) -> Value {
        match leaf {
            Leaf::Expr(Some(e)) => self.expr(path, e),
            Leaf::Expr(None) => {
                self.misconfigured.insert(path.to_owned(), None);
                Value::Null
            }
            Leaf::Query(q) => self.query(path, q),
        }
    }

    fn query(&mut self, path: &str, q: &Query) -> Value {
        let mut obj = Map::new();
        obj.insert(
            "combinator".into(),
            self.expr(&format!("{path}.combinator"), &q.combinator),
        );
        let rules_path = format!("{path}.rules");
        let rules = q
            .rules
            .iter()
            .map(|r| match r {
                Rule::Rule {
                    property,
                    operator,
                    value,
                } => {
                    let mut rule = Map::new();
                    rule.insert(
                        "property".into(),
                        self.expr(&format!("{rules_path}.property"), property),
                    );
                    rule.insert(
                        "operator".into(),
                        self.expr(&format!("{rules_path}.operator"), operator),
                    );
                    rule.insert(
                        "value".into(),
                        self.expr(&format!("{rules_path}.value"), value),
                    );
                    Value::Object(rule)
                }
                Rule::Group(g) => self.query(&rules_path, g),
            })
            .collect();
        obj.insert("rules".into(), Value::Array(rules));
        Value::Object(obj)
    }
}

/// Python truthiness of a JSON value.
fn python_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `str()` of a scalar as the jq binding returns it.
fn python_str(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => num::python_str_of_double(n.as_f64().unwrap_or(0.0)),
        }),
        _ => None,
    }
}

/// `icon: str | None`: scalars become strings, lists and objects fail the batch.
fn coerce_icon(v: Value) -> Result<Value, String> {
    match v {
        Value::Null | Value::String(_) => Ok(v),
        Value::Array(_) | Value::Object(_) => Err(format!(
            "icon must be a string or null, got {}",
            if v.is_array() { "a list" } else { "an object" }
        )),
        scalar => Ok(Value::String(python_str(&scalar).unwrap_or_default())),
    }
}

/// `team: str | None | list | dict`: numbers and booleans become strings.
fn coerce_team(v: Value) -> Value {
    match python_str(&v) {
        Some(s) => Value::String(s),
        None => v,
    }
}

/// What a value looks like after a trip through Python (what the jq binding returns, then
/// `json.dumps` for the next jq call): integral numbers lose their decimal point, big integers
/// their exact digits, NaN becomes null.
fn python_round_trip(v: &Val) -> Val {
    match v {
        Val::Num(f) => round_trip_number(*f),
        Val::Lit(l) => round_trip_number(l.value),
        Val::Arr(a) => Val::arr(a.iter().map(python_round_trip).collect()),
        Val::Obj(o) => Val::obj(
            o.iter()
                .map(|(k, v)| (k.clone(), python_round_trip(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn round_trip_number(f: f64) -> Val {
    if f.is_nan() {
        return Val::Null;
    }
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    if f.fract() == 0.0 {
        let digits = num::exact_integer_string(f);
        Val::num_with_literal(f, num::literal_for_integer_text(&digits))
    } else {
        Val::num_with_literal(f, num::literal_for_python_float(f))
    }
}

fn with_key(base: &Val, key: &Rc<str>, value: Val) -> Val {
    match base {
        Val::Obj(o) => {
            let mut m = (**o).clone();
            m.insert(key.clone(), value);
            Val::obj(m)
        }
        // Ocean's `{**item}` needs a mapping; a non-object parent cannot get here from the
        // validated raw data, but keep the element reachable anyway.
        _ => {
            let mut m = jq::value::Map::default();
            m.insert(key.clone(), value);
            Val::obj(m)
        }
    }
}

fn python_type_name(v: &Val) -> &'static str {
    match v {
        Val::Null => "<class 'NoneType'>",
        Val::Bool(_) => "<class 'bool'>",
        Val::Num(f) if f.fract() == 0.0 => "<class 'int'>",
        Val::Num(_) | Val::Lit(_) => "<class 'float'>",
        Val::Str(_) => "<class 'str'>",
        Val::Arr(_) => "<class 'list'>",
        Val::Obj(_) => "<class 'dict'>",
    }
}

fn python_class(v: &Val) -> &'static str {
    python_type_name(v)
}

fn python_display(v: &Val) -> String {
    match v {
        Val::Null => "None".to_owned(),
        Val::Str(s) => s.to_string(),
        other => read::to_json(other).to_string(),
    }
}

/// Ocean's `extract_jq_deletion_path_revised`: the first simple path of an itemsToParse
/// expression (`.files`, `.data.list`, `.a[0]`, `.["k"]`), or `None`.
pub fn deletion_path(expression: &str) -> Option<String> {
    use std::sync::OnceLock;
    static PAREN: OnceLock<fancy_regex::Regex> = OnceLock::new();
    static AS_VAR: OnceLock<fancy_regex::Regex> = OnceLock::new();
    static PATH: OnceLock<fancy_regex::Regex> = OnceLock::new();
    let paren = PAREN.get_or_init(|| fancy_regex::Regex::new(r"(?s)^\((.*?)\)").expect("regex"));
    let as_var =
        AS_VAR.get_or_init(|| fancy_regex::Regex::new(r"^\.\s+as\s+\$\w+").expect("regex"));
    let path = PATH.get_or_init(|| {
        fancy_regex::Regex::new(r"^(\.[\w]+|\.\[[^\]]+\])(\.[\w]+|\[[^\]]+\]|\.\[[^\]]+\])*")
            .expect("regex")
    });
    let expr = expression.trim();
    let chain = if expr.starts_with('(') {
        let caps = paren.captures(expr).ok()??;
        caps.get(1)?.as_str().trim().to_owned()
    } else {
        expr.to_owned()
    };
    for segment in chain.split('|') {
        let segment = segment.trim();
        if as_var.is_match(segment).unwrap_or(false) {
            continue;
        }
        if segment == "." || segment.starts_with('$') {
            continue;
        }
        if let Ok(Some(m)) = path.find(segment) {
            return Some(m.as_str().trim().to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests;
