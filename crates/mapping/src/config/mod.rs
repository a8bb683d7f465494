//! The `port-app-config` (an integration's mapping) as plain data, and loading it exactly as
//! Python Ocean validates it.
//!
//! Python Ocean validates the mapping with pydantic (v1) models: required keys reject the whole
//! config, unknown keys are dropped at every level, scalars are coerced to strings with Python's
//! `str()` (`10` → `"10"`, `true` → `"True"`), `null` is refused where the model has no
//! `Optional`, booleans accept pydantic's spellings except `enableDelete`, which must be a real
//! boolean, and `entityDeletionThreshold` must lie in `[0, 1]`. [`PortAppConfig::from_yaml_str`]
//! and [`PortAppConfig::from_json`] reproduce that; errors name the file, the key path and the
//! line. Serialising a [`PortAppConfig`] gives the *request form* Ocean sends to Port. These are
//! data types only: evaluating the expressions is the engine's job.

mod node;

pub use node::{Node, Spanned, YamlError};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// An integration's mapping: options for Port requests plus one [`ResourceConfig`] per kind
/// mapping, in order (the position is the resource's index).
///
/// Serialises to the request form: the four options always, each resource with only the keys
/// its source set (`docs/mapping.md` §2.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortAppConfig {
    /// Delete entities that depend on a deleted entity (`delete_dependents`), default true.
    pub delete_dependent_entities: bool,
    /// Let Port create missing relation targets, default true.
    pub create_missing_related_entities: bool,
    /// Merge upserted entities with existing ones, default true.
    pub enable_merge_entity: bool,
    /// Largest share of owned entities a resync may delete, in `[0, 1]`, default 0.9.
    pub entity_deletion_threshold: f64,
    /// The resources, in order.
    pub resources: Vec<ResourceConfig>,
    /// Every other top-level key, as written: integration-specific options next to the
    /// resources (e.g. GitHub's `repositoryType`), read by the integration's fetchers.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for PortAppConfig {
    fn default() -> Self {
        PortAppConfig {
            delete_dependent_entities: true,
            create_missing_related_entities: true,
            enable_merge_entity: true,
            entity_deletion_threshold: 0.9,
            resources: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// How to map the raw items of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceConfig {
    /// The kind of raw item (dispatch is by exact string match).
    pub kind: String,
    /// `enableDelete` as written (`None` when absent; the effective default is true).
    #[serde(rename = "enableDelete", skip_serializing_if = "Option::is_none")]
    pub enable_delete: Option<bool>,
    /// Which items to map.
    pub selector: Selector,
    /// How to map them.
    pub port: PortResourceConfig,
}

impl ResourceConfig {
    /// `enableDelete` with its default.
    pub fn enable_delete(&self) -> bool {
        self.enable_delete.unwrap_or(true)
    }
}

/// The selector of a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selector {
    /// JQ expression that must yield a boolean per item.
    pub query: String,
    /// `exportEnvVariables` as written (`None` when absent).
    #[serde(rename = "exportEnvVariables", skip_serializing_if = "Option::is_none")]
    pub export_env_variables: Option<Vec<String>>,
    /// Every other selector key, as written: integration-specific selector fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `port` section of a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortResourceConfig {
    /// The entity mapping.
    pub entity: EntityConfig,
    /// JQ expression yielding an array: one entity per element (`docs/mapping.md` §5).
    #[serde(rename = "itemsToParse", skip_serializing_if = "Option::is_none")]
    pub items_to_parse: Option<String>,
    /// `itemsToParseName` as written (default `item`).
    #[serde(rename = "itemsToParseName", skip_serializing_if = "Option::is_none")]
    pub items_to_parse_name: Option<String>,
    /// `itemsToParseTopLevelTransform` as written (default true).
    #[serde(
        rename = "itemsToParseTopLevelTransform",
        skip_serializing_if = "Option::is_none"
    )]
    pub items_to_parse_top_level_transform: Option<bool>,
}

impl PortResourceConfig {
    /// The key each element is stored under in its child item.
    pub fn items_to_parse_name(&self) -> &str {
        self.items_to_parse_name.as_deref().unwrap_or("item")
    }

    /// Whether the parsed array is deleted from the parent before children are built.
    pub fn items_to_parse_top_level_transform(&self) -> bool {
        self.items_to_parse_top_level_transform.unwrap_or(true)
    }
}

/// `port.entity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityConfig {
    /// The field mappings.
    pub mappings: EntityMapping,
}

/// The JQ mapping of each entity field. Optional fields are `None` when the mapping does not
/// write them (they are then absent from the entity); `Some(None)` is an explicit YAML `null`
/// (the field is sent as null and reported misconfigured).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityMapping {
    /// The identifier: an expression or a search query.
    pub identifier: MappingValue,
    /// The title expression.
    #[serde(skip_serializing_if = "unset_or_null")]
    pub title: Option<Option<String>>,
    /// The icon expression.
    #[serde(skip_serializing_if = "unset_or_null")]
    pub icon: Option<Option<String>>,
    /// The blueprint expression.
    pub blueprint: String,
    /// The team: an expression or a search query.
    #[serde(skip_serializing_if = "unset_or_null")]
    pub team: Option<Option<MappingValue>>,
    /// Property expressions by property name, in order.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ordered")]
    pub properties: Option<Vec<(String, String)>>,
    /// Relation mappings by relation name, in order.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ordered")]
    pub relations: Option<Vec<(String, MappingValue)>>,
}

fn unset_or_null<T>(v: &Option<Option<T>>) -> bool {
    !matches!(v, Some(Some(_)))
}

fn ordered<S: serde::Serializer, V: Serialize>(
    v: &Option<Vec<(String, V)>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let entries = v.as_deref().unwrap_or_default();
    let mut map = s.serialize_map(Some(entries.len()))?;
    for (k, x) in entries {
        map.serialize_entry(k, x)?;
    }
    map.end()
}

/// A mapping leaf that is either a JQ expression or a search query whose leaves are JQ
/// expressions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MappingValue {
    /// A JQ expression.
    Expr(String),
    /// A search query object.
    Query(SearchQuery),
}

/// `{combinator, rules}`: every leaf is a JQ expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchQuery {
    /// The combinator expression (`'"and"'`).
    pub combinator: String,
    /// The rules, in order.
    pub rules: Vec<SearchRule>,
}

/// One element of a search query's `rules`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SearchRule {
    /// `{property, operator, value}`.
    Rule {
        /// Property expression.
        property: String,
        /// Operator expression.
        operator: String,
        /// Value expression.
        value: String,
    },
    /// A nested query.
    Query(SearchQuery),
}

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid YAML (or uses a tag Ocean cannot load).
    #[error("{source_name}: invalid YAML at line {line}, column {column}: {message}")]
    Yaml {
        /// Where the text came from (a file name).
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The document does not validate.
    #[error("{source_name}: {}: {message}", location(path, *line))]
    Invalid {
        /// Where the text came from.
        source_name: String,
        /// The key path (`resources[0].port.entity.mappings.identifier`).
        path: String,
        /// The line of the offending value or of its parent, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn location(path: &str, line: Option<usize>) -> String {
    let path = if path.is_empty() { "<document>" } else { path };
    match line {
        Some(l) => format!("{path} (line {l})"),
        None => path.to_owned(),
    }
}

impl PortAppConfig {
    /// Loads a YAML mapping (a `port-app-config.yml`) with PyYAML's YAML 1.1 rules and validates
    /// it as Ocean does. `source_name` names the file in errors.
    pub fn from_yaml_str(text: &str, source_name: &str) -> Result<PortAppConfig, ConfigError> {
        let doc = node::load_yaml(text).map_err(|e| ConfigError::Yaml {
            source_name: source_name.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        Validator {
            source: source_name,
        }
        .config(&doc)
    }

    /// Validates a mapping as Port returns it (`integration.config`). `null` and `{}` mean "no
    /// resources", as in Ocean.
    pub fn from_json(value: &Value) -> Result<PortAppConfig, ConfigError> {
        if value.is_null() {
            return Ok(PortAppConfig::default());
        }
        Validator {
            source: "port-app-config",
        }
        .config(&node::from_json(value))
    }

    /// The request form Ocean sends when it writes a mapping to Port.
    pub fn to_request(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The resources mapping `kind`, in config order, with their indexes.
    pub fn resources_of_kind<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (usize, &'a ResourceConfig)> + 'a {
        self.resources
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.kind == kind)
    }
}

impl fmt::Display for MappingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingValue::Expr(e) => f.write_str(e),
            MappingValue::Query(q) => write!(f, "{}", serde_json::to_string(q).unwrap_or_default()),
        }
    }
}

struct Validator<'a> {
    source: &'a str,
}

type R<T> = Result<T, ConfigError>;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Validator<'_> {
    fn error(&self, path: &str, line: Option<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            source_name: self.source.to_owned(),
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }

    fn map<'n>(&self, n: &'n Spanned, path: &str) -> R<&'n [(Spanned, Spanned)]> {
        match &n.node {
            Node::Map(m) => Ok(m),
            other => Err(self.error(
                path,
                n.line,
                format!("expected a mapping, found {}", other.type_name()),
            )),
        }
    }

    fn get<'n>(m: &'n [(Spanned, Spanned)], key: &str) -> Option<&'n Spanned> {
        m.iter()
            .find(|(k, _)| matches!(&k.node, Node::Str(s) if s == key))
            .map(|(_, v)| v)
    }

    fn required<'n>(
        &self,
        m: &'n [(Spanned, Spanned)],
        key: &str,
        path: &str,
        line: Option<usize>,
    ) -> R<&'n Spanned> {
        Self::get(m, key).ok_or_else(|| self.error(&join(path, key), line, "field required"))
    }

    /// pydantic's `str`: strings as they are, numbers and booleans through Python's `str()`.
    fn string(&self, n: &Spanned, path: &str) -> R<String> {
        match &n.node {
            Node::Str(s) => Ok(s.clone()),
            Node::Int(d) => Ok(d.clone()),
            Node::Float(f) => Ok(python_str_float(*f)),
            Node::Bool(b) => Ok(if *b { "True" } else { "False" }.to_owned()),
            Node::Null => Err(self.error(path, n.line, "none is not an allowed value")),
            other => Err(self.error(
                path,
                n.line,
                format!("str type expected, found {}", other.type_name()),
            )),
        }
    }

    fn optional_string(&self, n: &Spanned, path: &str) -> R<Option<String>> {
        match n.node {
            Node::Null => Ok(None),
            _ => self.string(n, path).map(Some),
        }
    }

    /// pydantic's `bool`: true/false, 0/1 and their usual spellings.
    fn boolean(&self, n: &Spanned, path: &str) -> R<bool> {
        let invalid = || self.error(path, n.line, "value could not be parsed to a boolean");
        match &n.node {
            Node::Bool(b) => Ok(*b),
            Node::Int(d) if d == "0" => Ok(false),
            Node::Int(d) if d == "1" => Ok(true),
            Node::Float(f) if *f == 0.0 => Ok(false),
            Node::Float(f) if *f == 1.0 => Ok(true),
            Node::Str(s) => ocean_model::python::parse_bool(s).ok_or_else(invalid),
            Node::Null => Err(self.error(path, n.line, "none is not an allowed value")),
            _ => Err(invalid()),
        }
    }

    fn float(&self, n: &Spanned, path: &str) -> R<f64> {
        let invalid = || self.error(path, n.line, "value is not a valid float");
        match &n.node {
            Node::Float(f) => Ok(*f),
            Node::Int(d) => d.parse().map_err(|_| invalid()),
            Node::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
            Node::Str(s) => parse_python_float(s).ok_or_else(invalid),
            Node::Null => Err(self.error(path, n.line, "none is not an allowed value")),
            _ => Err(invalid()),
        }
    }

    fn seq<'n>(&self, n: &'n Spanned, path: &str) -> R<&'n [Spanned]> {
        match &n.node {
            Node::Seq(items) => Ok(items),
            Node::Null => Err(self.error(path, n.line, "none is not an allowed value")),
            other => Err(self.error(
                path,
                n.line,
                format!("value is not a valid list, found {}", other.type_name()),
            )),
        }
    }

    fn config(&self, doc: &Spanned) -> R<PortAppConfig> {
        let m = self.map(doc, "")?;
        let mut config = PortAppConfig::default();
        if let Some(v) = Self::get(m, "deleteDependentEntities") {
            config.delete_dependent_entities = self.boolean(v, "deleteDependentEntities")?;
        }
        if let Some(v) = Self::get(m, "createMissingRelatedEntities") {
            config.create_missing_related_entities =
                self.boolean(v, "createMissingRelatedEntities")?;
        }
        if let Some(v) = Self::get(m, "enableMergeEntity") {
            config.enable_merge_entity = self.boolean(v, "enableMergeEntity")?;
        }
        if let Some(v) = Self::get(m, "entityDeletionThreshold") {
            let t = self.float(v, "entityDeletionThreshold")?;
            if !(0.0..=1.0).contains(&t) {
                return Err(self.error(
                    "entityDeletionThreshold",
                    v.line,
                    format!(
                        "must be between 0 and 1 (inclusive), found {}",
                        python_str_float(t)
                    ),
                ));
            }
            config.entity_deletion_threshold = t;
        }
        if let Some(v) = Self::get(m, "resources") {
            for (i, r) in self.seq(v, "resources")?.iter().enumerate() {
                config
                    .resources
                    .push(self.resource(r, &format!("resources[{i}]"))?);
            }
        }
        const KNOWN: [&str; 5] = [
            "deleteDependentEntities",
            "createMissingRelatedEntities",
            "enableMergeEntity",
            "entityDeletionThreshold",
            "resources",
        ];
        config.extra = m
            .iter()
            .filter_map(|(k, v)| match &k.node {
                Node::Str(k) if !KNOWN.contains(&k.as_str()) => Some((k.clone(), v.node.to_json())),
                _ => None,
            })
            .collect();
        Ok(config)
    }

    fn resource(&self, n: &Spanned, path: &str) -> R<ResourceConfig> {
        let m = self.map(n, path)?;
        let kind = self.string(self.required(m, "kind", path, n.line)?, &join(path, "kind"))?;
        let enable_delete = match Self::get(m, "enableDelete") {
            None => None,
            Some(Spanned {
                node: Node::Bool(b),
                ..
            }) => Some(*b),
            Some(v) => {
                return Err(self.error(
                    &join(path, "enableDelete"),
                    v.line,
                    "enableDelete must be a boolean (true or false); omit the key to keep the default (true)",
                ));
            }
        };
        let selector = self.selector(
            self.required(m, "selector", path, n.line)?,
            &join(path, "selector"),
        )?;
        let port = self.port(self.required(m, "port", path, n.line)?, &join(path, "port"))?;
        Ok(ResourceConfig {
            kind,
            enable_delete,
            selector,
            port,
        })
    }

    fn selector(&self, n: &Spanned, path: &str) -> R<Selector> {
        let m = self.map(n, path)?;
        let query = self.string(
            self.required(m, "query", path, n.line)?,
            &join(path, "query"),
        )?;
        let export_env_variables = match Self::get(m, "exportEnvVariables") {
            None => None,
            Some(v) => {
                let p = join(path, "exportEnvVariables");
                let items = self.seq(v, &p)?;
                Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| self.string(x, &format!("{p}[{i}]")))
                        .collect::<R<Vec<_>>>()?,
                )
            }
        };
        let extra = m
            .iter()
            .filter_map(|(k, v)| match &k.node {
                Node::Str(k) if k != "query" && k != "exportEnvVariables" => {
                    Some((k.clone(), v.node.to_json()))
                }
                _ => None,
            })
            .collect();
        Ok(Selector {
            query,
            export_env_variables,
            extra,
        })
    }

    fn port(&self, n: &Spanned, path: &str) -> R<PortResourceConfig> {
        let m = self.map(n, path)?;
        let entity_node = self.required(m, "entity", path, n.line)?;
        let entity_path = join(path, "entity");
        let em = self.map(entity_node, &entity_path)?;
        let mappings = self.mappings(
            self.required(em, "mappings", &entity_path, entity_node.line)?,
            &join(&entity_path, "mappings"),
        )?;
        let items_to_parse = match Self::get(m, "itemsToParse") {
            None => None,
            Some(v) => self.optional_string(v, &join(path, "itemsToParse"))?,
        };
        let items_to_parse_name = match Self::get(m, "itemsToParseName") {
            None => None,
            Some(v) => Some(self.string(v, &join(path, "itemsToParseName"))?),
        };
        let items_to_parse_top_level_transform = match Self::get(m, "itemsToParseTopLevelTransform")
        {
            None => None,
            Some(v) => Some(self.boolean(v, &join(path, "itemsToParseTopLevelTransform"))?),
        };
        Ok(PortResourceConfig {
            entity: EntityConfig { mappings },
            items_to_parse,
            items_to_parse_name,
            items_to_parse_top_level_transform,
        })
    }

    fn mappings(&self, n: &Spanned, path: &str) -> R<EntityMapping> {
        let m = self.map(n, path)?;
        let identifier = self.mapping_value(
            self.required(m, "identifier", path, n.line)?,
            &join(path, "identifier"),
        )?;
        let blueprint = self.string(
            self.required(m, "blueprint", path, n.line)?,
            &join(path, "blueprint"),
        )?;
        let title = match Self::get(m, "title") {
            None => None,
            Some(v) => Some(self.optional_string(v, &join(path, "title"))?),
        };
        let icon = match Self::get(m, "icon") {
            None => None,
            Some(v) => Some(self.optional_string(v, &join(path, "icon"))?),
        };
        let team = match Self::get(m, "team") {
            None => None,
            Some(Spanned {
                node: Node::Null, ..
            }) => Some(None),
            Some(v) => Some(Some(self.mapping_value(v, &join(path, "team"))?)),
        };
        let properties = match Self::get(m, "properties") {
            None => None,
            Some(v) => {
                let p = join(path, "properties");
                let mut out: Vec<(String, String)> = Vec::new();
                for (k, x) in self.dict(v, &p)? {
                    let key = self.string(k, &p)?;
                    let value = self.string(x, &join(&p, &key))?;
                    upsert(&mut out, key, value);
                }
                Some(out)
            }
        };
        let relations = match Self::get(m, "relations") {
            None => None,
            Some(v) => {
                let p = join(path, "relations");
                let mut out: Vec<(String, MappingValue)> = Vec::new();
                for (k, x) in self.dict(v, &p)? {
                    let key = self.string(k, &p)?;
                    let value = self.mapping_value(x, &join(&p, &key))?;
                    upsert(&mut out, key, value);
                }
                Some(out)
            }
        };
        Ok(EntityMapping {
            identifier,
            title,
            icon,
            blueprint,
            team,
            properties,
            relations,
        })
    }

    fn dict<'n>(&self, n: &'n Spanned, path: &str) -> R<&'n [(Spanned, Spanned)]> {
        match &n.node {
            Node::Map(m) => Ok(m),
            Node::Null => Err(self.error(path, n.line, "none is not an allowed value")),
            other => Err(self.error(
                path,
                n.line,
                format!("value is not a valid dict, found {}", other.type_name()),
            )),
        }
    }

    /// `str | IngestSearchQuery`: a scalar becomes an expression, a mapping must be a query.
    fn mapping_value(&self, n: &Spanned, path: &str) -> R<MappingValue> {
        match &n.node {
            Node::Map(_) => self.query(n, path).map(MappingValue::Query),
            _ => self.string(n, path).map(MappingValue::Expr),
        }
    }

    fn query(&self, n: &Spanned, path: &str) -> R<SearchQuery> {
        let m = self.map(n, path)?;
        let combinator = self.string(
            self.required(m, "combinator", path, n.line)?,
            &join(path, "combinator"),
        )?;
        let rules_path = join(path, "rules");
        let rules_node = self.required(m, "rules", path, n.line)?;
        let mut rules = Vec::new();
        for (i, r) in self.seq(rules_node, &rules_path)?.iter().enumerate() {
            rules.push(self.rule(r, &format!("{rules_path}[{i}]"))?);
        }
        Ok(SearchQuery { combinator, rules })
    }

    /// `Rule | IngestSearchQuery`, tried in that order as pydantic does.
    fn rule(&self, n: &Spanned, path: &str) -> R<SearchRule> {
        let m = self.map(n, path)?;
        let as_rule = (|| {
            Ok(SearchRule::Rule {
                property: self.string(
                    self.required(m, "property", path, n.line)?,
                    &join(path, "property"),
                )?,
                operator: self.string(
                    self.required(m, "operator", path, n.line)?,
                    &join(path, "operator"),
                )?,
                value: self.string(
                    self.required(m, "value", path, n.line)?,
                    &join(path, "value"),
                )?,
            })
        })();
        match as_rule {
            Ok(rule) => Ok(rule),
            Err(rule_error) => self
                .query(n, path)
                .map(SearchRule::Query)
                .map_err(|_| rule_error),
        }
    }
}

fn upsert<V>(out: &mut Vec<(String, V)>, key: String, value: V) {
    match out.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => out.push((key, value)),
    }
}

/// Python's `str()` of a float (`0.5`, `1e+20`, `inf`, `nan`).
fn python_str_float(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        ocean_model::python::float_repr(f)
    }
}

/// Python's `float(str)`: surrounding whitespace allowed, `inf`/`nan` accepted.
fn parse_python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE_".contains(&b))
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests;
