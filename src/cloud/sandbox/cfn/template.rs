//! CloudFormation templates: parsing (JSON, and YAML with the short
//! `!Ref`/`!GetAtt`/`!Sub`... tags), validation (unresolved references,
//! circular dependencies, size), conditions and intrinsic functions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// TemplateBody's limit; larger templates must come from S3.
use crate::core::stack::TEMPLATE_BODY_LIMIT as MAX_TEMPLATE_BODY;

#[derive(Debug, Clone, PartialEq)]
pub struct ParamDef {
    pub ptype: String,
    pub default: Option<String>,
    pub no_echo: bool,
    pub allowed_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    pub rtype: String,
    pub properties: Value,
    pub condition: Option<String>,
    pub metadata: Value,
    pub deletion_policy: Option<String>,
    /// Other resources this one needs first (Ref, GetAtt, Sub, DependsOn).
    pub deps: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputDef {
    pub value: Value,
    pub description: Option<String>,
    pub condition: Option<String>,
    pub export_name: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parameters: Vec<(String, ParamDef)>,
    pub mappings: Value,
    pub conditions: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, ResourceDef>,
    pub outputs: Vec<(String, OutputDef)>,
    /// The template names a macro (`Transform`), such as AWS::Serverless.
    pub transform: bool,
}

fn format_error(msg: impl std::fmt::Display) -> String {
    format!("Template format error: {msg}")
}

/// The AWS message for a TemplateBody over the limit, plus what to do.
pub fn oversize_message(len: usize) -> String {
    format!(
        "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: \
         Member must have length less than or equal to {MAX_TEMPLATE_BODY} (the template is \
         {len} bytes). Shrink the template or upload it to S3 and pass TemplateURL."
    )
}

/// Parses and validates a template body (JSON or YAML).
pub fn parse(body: &str) -> Result<Template, String> {
    if body.len() > MAX_TEMPLATE_BODY {
        return Err(oversize_message(body.len()));
    }
    let root: Value = if body.trim_start().starts_with('{') {
        serde_json::from_str(body)
            .map_err(|e| format_error(format!("JSON not well-formed. ({e})")))?
    } else {
        let y: serde_norway::Value = serde_norway::from_str(body)
            .map_err(|e| format_error(format!("YAML not well-formed. ({e})")))?;
        yaml_to_json(y)?
    };
    let Value::Object(root) = root else {
        return Err(format_error("the template is not a JSON or YAML object."));
    };
    from_root(&root)
}

/// Converts YAML (with CloudFormation's short tags) to the JSON form.
pub fn yaml_to_json(v: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(
            seq.into_iter()
                .map(yaml_to_json)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    other => {
                        return Err(format_error(format!(
                            "unsupported mapping key {other:?}; keys must be strings."
                        )));
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let inner = yaml_to_json(t.value)?;
            let mut m = Map::new();
            match name.as_str() {
                "Ref" => {
                    m.insert("Ref".into(), inner);
                }
                "Condition" => {
                    m.insert("Condition".into(), inner);
                }
                "GetAtt" => {
                    let arg = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                            None => {
                                return Err(format_error(format!(
                                    "!GetAtt {s} must be Resource.Attribute."
                                )));
                            }
                        },
                        other => other,
                    };
                    m.insert("Fn::GetAtt".into(), arg);
                }
                _ => {
                    m.insert(format!("Fn::{name}"), inner);
                }
            }
            Value::Object(m)
        }
    })
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => Some(a.iter().filter_map(as_text).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn from_root(root: &Map<String, Value>) -> Result<Template, String> {
    let mut parameters = Vec::new();
    if let Some(ps) = root.get("Parameters") {
        let ps = ps
            .as_object()
            .ok_or_else(|| format_error("Parameters must be an object."))?;
        for (name, p) in ps {
            let p = p
                .as_object()
                .ok_or_else(|| format_error(format!("[/Parameters/{name}] must be an object.")))?;
            let ptype = p
                .get("Type")
                .and_then(|t| t.as_str())
                .ok_or_else(|| {
                    format_error(format!(
                        "[/Parameters/{name}] Every Parameters object must contain a Type member."
                    ))
                })?
                .to_string();
            parameters.push((
                name.clone(),
                ParamDef {
                    ptype,
                    default: p.get("Default").and_then(as_text),
                    no_echo: p.get("NoEcho").map(truthy).unwrap_or(false),
                    allowed_values: p
                        .get("AllowedValues")
                        .and_then(|a| a.as_array())
                        .map(|a| a.iter().filter_map(as_text).collect())
                        .unwrap_or_default(),
                },
            ));
        }
    }
    let mappings = root.get("Mappings").cloned().unwrap_or(Value::Null);
    let mut conditions = BTreeMap::new();
    if let Some(cs) = root.get("Conditions").and_then(|c| c.as_object()) {
        for (k, v) in cs {
            conditions.insert(k.clone(), v.clone());
        }
    }
    let rs = root
        .get("Resources")
        .and_then(|r| r.as_object())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| format_error("At least one Resources member must be defined."))?;
    let mut resources = BTreeMap::new();
    for (name, r) in rs {
        let r = r
            .as_object()
            .ok_or_else(|| format_error(format!("[/Resources/{name}] must be an object.")))?;
        let rtype = r
            .get("Type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| {
                format_error(format!(
                    "[/Resources/{name}] Every Resources object must contain a Type member."
                ))
            })?
            .to_string();
        let depends_on: Vec<String> = match r.get("DependsOn") {
            None => vec![],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_string).ok_or_else(|| {
                        format_error(format!("[/Resources/{name}/DependsOn] must be strings."))
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(format_error(format!(
                    "[/Resources/{name}/DependsOn] must be a string or a list of strings."
                )));
            }
        };
        let properties = r.get("Properties").cloned().unwrap_or(Value::Null);
        let mut deps = BTreeSet::new();
        let mut refs = Vec::new();
        collect_refs(&properties, &mut refs);
        for d in depends_on {
            refs.push(Reference::Resource(d));
        }
        for rf in refs {
            match rf {
                Reference::Any(n) => {
                    if rs.contains_key(&n) {
                        deps.insert(n);
                    }
                }
                Reference::Resource(n) => {
                    deps.insert(n);
                }
            }
        }
        resources.insert(
            name.clone(),
            ResourceDef {
                rtype,
                properties,
                condition: r
                    .get("Condition")
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
                metadata: r.get("Metadata").cloned().unwrap_or(Value::Null),
                deletion_policy: r
                    .get("DeletionPolicy")
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
                deps,
            },
        );
    }
    let mut outputs = Vec::new();
    if let Some(os) = root.get("Outputs").and_then(|o| o.as_object()) {
        for (name, o) in os {
            let value = o.get("Value").cloned().ok_or_else(|| {
                format_error(format!(
                    "[/Outputs/{name}] Every Outputs member must contain a Value object"
                ))
            })?;
            outputs.push((
                name.clone(),
                OutputDef {
                    value,
                    description: o.get("Description").and_then(as_text),
                    condition: o
                        .get("Condition")
                        .and_then(|c| c.as_str())
                        .map(str::to_string),
                    export_name: o.get("Export").and_then(|e| e.get("Name")).cloned(),
                },
            ));
        }
    }
    let t = Template {
        parameters,
        mappings,
        conditions,
        resources,
        outputs,
        transform: root.get("Transform").is_some(),
    };
    t.check_references(rs)?;
    t.check_cycles()?;
    Ok(t)
}

/// A name a template refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reference {
    /// Ref or `${X}`: a parameter, a resource or a pseudo parameter.
    Any(String),
    /// GetAtt or DependsOn: must be a resource.
    Resource(String),
}

/// Names in `${...}` of an Fn::Sub string: `X` or `X.Attr`, skipping
/// `${!literal}` and `${AWS::...}`.
fn sub_names(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        rest = &after[end + 1..];
        if inner.starts_with('!') || inner.contains("::") {
            continue;
        }
        match inner.split_once('.') {
            Some((a, b)) => out.push((a.trim().to_string(), Some(b.trim().to_string()))),
            None => out.push((inner.trim().to_string(), None)),
        }
    }
    out
}

fn collect_refs(v: &Value, out: &mut Vec<Reference>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(r)) = m.get("Ref") {
                    if !r.starts_with("AWS::") {
                        out.push(Reference::Any(r.clone()));
                    }
                    return;
                }
                if let Some(g) = m.get("Fn::GetAtt") {
                    match g {
                        Value::Array(a) => {
                            if let Some(Value::String(n)) = a.first() {
                                out.push(Reference::Resource(n.clone()));
                            }
                            for x in a.iter().skip(1) {
                                collect_refs(x, out);
                            }
                        }
                        Value::String(s) => {
                            let n = s.split('.').next().unwrap_or(s);
                            out.push(Reference::Resource(n.to_string()));
                        }
                        _ => {}
                    }
                    return;
                }
                if let Some(s) = m.get("Fn::Sub") {
                    let (text, vars) = match s {
                        Value::String(t) => (t.as_str(), None),
                        Value::Array(a) => (
                            a.first().and_then(|x| x.as_str()).unwrap_or(""),
                            a.get(1).and_then(|x| x.as_object()),
                        ),
                        _ => ("", None),
                    };
                    for (name, attr) in sub_names(text) {
                        if vars.is_some_and(|vs| vs.contains_key(&name)) {
                            continue;
                        }
                        out.push(if attr.is_some() {
                            Reference::Resource(name)
                        } else {
                            Reference::Any(name)
                        });
                    }
                    if let Some(vs) = vars {
                        for x in vs.values() {
                            collect_refs(x, out);
                        }
                    }
                    return;
                }
            }
            for x in m.values() {
                collect_refs(x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                collect_refs(x, out);
            }
        }
        _ => {}
    }
}

impl Template {
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    fn check_references(&self, raw_resources: &Map<String, Value>) -> Result<(), String> {
        let mut unresolved = BTreeSet::new();
        let known_any = |n: &str| raw_resources.contains_key(n) || self.param(n).is_some();
        let mut check = |refs: Vec<Reference>| {
            for r in refs {
                match r {
                    Reference::Any(n) if !known_any(&n) => {
                        unresolved.insert(n);
                    }
                    Reference::Resource(n) if !raw_resources.contains_key(&n) => {
                        unresolved.insert(n);
                    }
                    _ => {}
                }
            }
        };
        for r in self.resources.values() {
            let mut refs = Vec::new();
            collect_refs(&r.properties, &mut refs);
            refs.extend(r.deps.iter().cloned().map(Reference::Resource));
            check(refs);
        }
        for (_, o) in &self.outputs {
            let mut refs = Vec::new();
            collect_refs(&o.value, &mut refs);
            check(refs);
        }
        if !unresolved.is_empty() {
            return Err(format_error(format!(
                "Unresolved resource dependencies [{}] in the Resources block of the template",
                unresolved.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        let mut bad_conditions = BTreeSet::new();
        for r in self.resources.values() {
            if let Some(c) = &r.condition
                && !self.conditions.contains_key(c)
            {
                bad_conditions.insert(c.clone());
            }
        }
        for (_, o) in &self.outputs {
            if let Some(c) = &o.condition
                && !self.conditions.contains_key(c)
            {
                bad_conditions.insert(c.clone());
            }
        }
        if !bad_conditions.is_empty() {
            return Err(format_error(format!(
                "Unresolved dependencies [{}]. Cannot reference resources in the Conditions block \
                 of the template; define these conditions in the Conditions section.",
                bad_conditions.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    fn check_cycles(&self) -> Result<(), String> {
        // Kahn's algorithm: whatever cannot be ordered is on or behind a cycle.
        let mut indegree: BTreeMap<&str, usize> = self
            .resources
            .iter()
            .map(|(k, r)| (k.as_str(), r.deps.len()))
            .collect();
        let mut ready: Vec<&str> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(k, _)| *k)
            .collect();
        while let Some(n) = ready.pop() {
            for (k, r) in &self.resources {
                if r.deps.contains(n) {
                    let d = indegree.get_mut(k.as_str()).expect("known resource");
                    *d -= 1;
                    if *d == 0 {
                        ready.push(k);
                    }
                }
            }
        }
        let stuck: Vec<&str> = indegree
            .iter()
            .filter(|(_, d)| **d > 0)
            .map(|(k, _)| *k)
            .collect();
        if stuck.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Circular dependency between resources: [{}]",
                stuck.join(", ")
            ))
        }
    }

    /// Evaluates every condition against the parameter values.
    pub fn evaluate_conditions(&self, ctx: &Ctx<'_>) -> Result<BTreeMap<String, bool>, String> {
        let mut done = BTreeMap::new();
        for name in self.conditions.keys() {
            let mut visiting = BTreeSet::new();
            self.eval_condition(name, ctx, &mut done, &mut visiting)?;
        }
        Ok(done)
    }

    fn eval_condition(
        &self,
        name: &str,
        ctx: &Ctx<'_>,
        done: &mut BTreeMap<String, bool>,
        visiting: &mut BTreeSet<String>,
    ) -> Result<bool, String> {
        if let Some(v) = done.get(name) {
            return Ok(*v);
        }
        if !visiting.insert(name.to_string()) {
            return Err(format_error(format!(
                "Circular dependency between conditions: [{name}]"
            )));
        }
        let expr = self
            .conditions
            .get(name)
            .ok_or_else(|| format_error(format!("Unresolved condition dependency {name}.")))?;
        let v = self.eval_cond_expr(expr, ctx, done, visiting)?;
        done.insert(name.to_string(), v);
        Ok(v)
    }

    fn eval_cond_expr(
        &self,
        expr: &Value,
        ctx: &Ctx<'_>,
        done: &mut BTreeMap<String, bool>,
        visiting: &mut BTreeSet<String>,
    ) -> Result<bool, String> {
        let bad = || format_error(format!("invalid condition expression {expr}."));
        let m = expr.as_object().filter(|m| m.len() == 1).ok_or_else(bad)?;
        let (f, arg) = m.iter().next().expect("one entry");
        let list = || arg.as_array().ok_or_else(bad);
        match f.as_str() {
            "Condition" => {
                let n = arg.as_str().ok_or_else(bad)?;
                self.eval_condition(n, ctx, done, visiting)
            }
            "Fn::Equals" => {
                let a = list()?;
                if a.len() != 2 {
                    return Err(bad());
                }
                let l = self.resolve(&a[0], ctx)?;
                let r = self.resolve(&a[1], ctx)?;
                Ok(l.as_ref().and_then(as_text) == r.as_ref().and_then(as_text))
            }
            "Fn::Not" => {
                let a = list()?;
                let inner = a.first().ok_or_else(bad)?;
                Ok(!self.eval_cond_expr(inner, ctx, done, visiting)?)
            }
            "Fn::And" => {
                let mut all = true;
                for x in list()? {
                    all &= self.eval_cond_expr(x, ctx, done, visiting)?;
                }
                Ok(all)
            }
            "Fn::Or" => {
                let mut any = false;
                for x in list()? {
                    any |= self.eval_cond_expr(x, ctx, done, visiting)?;
                }
                Ok(any)
            }
            _ => Err(bad()),
        }
    }

    /// Resolves intrinsic functions in `v`. `None` is `AWS::NoValue`.
    ///
    /// With `ctx.resources == None` ("parameters only", used to compare
    /// templates), references to resources stay as they are.
    pub fn resolve(&self, v: &Value, ctx: &Ctx<'_>) -> Result<Option<Value>, String> {
        match v {
            Value::Array(a) => {
                let mut out = Vec::new();
                for x in a {
                    if let Some(r) = self.resolve(x, ctx)? {
                        out.push(r);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                if k == "Ref" || k.starts_with("Fn::") || k == "Condition" {
                    self.resolve_fn(k, arg, v, ctx)
                } else {
                    self.resolve_map(m, ctx)
                }
            }
            Value::Object(m) => self.resolve_map(m, ctx),
            other => Ok(Some(other.clone())),
        }
    }

    fn resolve_map(&self, m: &Map<String, Value>, ctx: &Ctx<'_>) -> Result<Option<Value>, String> {
        let mut out = Map::new();
        for (k, x) in m {
            if let Some(r) = self.resolve(x, ctx)? {
                out.insert(k.clone(), r);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    fn resolve_text(&self, v: &Value, ctx: &Ctx<'_>) -> Result<Option<String>, String> {
        Ok(self.resolve(v, ctx)?.as_ref().and_then(|x| match x {
            Value::Object(_) => None,
            other => as_text(other),
        }))
    }

    fn resolve_fn(
        &self,
        f: &str,
        arg: &Value,
        node: &Value,
        ctx: &Ctx<'_>,
    ) -> Result<Option<Value>, String> {
        let bad = || format_error(format!("invalid {f} arguments: {arg}"));
        let keep = |ctx: &Ctx<'_>| -> Result<Option<Value>, String> {
            // Parameters-only mode keeps what it cannot resolve, with its
            // arguments resolved as far as they go.
            if ctx.resources.is_none() {
                let mut m = Map::new();
                m.insert(
                    f.to_string(),
                    self.resolve(arg, ctx)?.unwrap_or(Value::Null),
                );
                Ok(Some(Value::Object(m)))
            } else {
                Err(bad())
            }
        };
        match f {
            "Ref" => {
                let name = arg.as_str().ok_or_else(bad)?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                if let Some(p) = ctx.pseudo(name) {
                    return Ok(Some(p));
                }
                if let Some(v) = ctx.params.get(name) {
                    // List parameters are lists to Fn::Select, Fn::Join and
                    // list-typed properties, as in CloudFormation.
                    let is_list = self.parameters.iter().any(|(n, d)| {
                        n == name
                            && (d.ptype == "CommaDelimitedList" || d.ptype.starts_with("List<"))
                    });
                    if is_list {
                        return Ok(Some(Value::Array(
                            v.split(',')
                                .map(|x| Value::String(x.trim().to_string()))
                                .collect(),
                        )));
                    }
                    return Ok(Some(Value::String(v.clone())));
                }
                match ctx.resources {
                    Some(r) => Ok(Some(Value::String(r(name, None).ok_or_else(|| {
                        format!("Ref {name}: the resource does not exist (its Condition is false?)")
                    })?))),
                    None => Ok(Some(node.clone())),
                }
            }
            "Fn::GetAtt" => {
                let (res, attr) = match arg {
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().ok_or_else(bad)?.to_string(),
                        self.resolve_text(&a[1], ctx)?.ok_or_else(bad)?,
                    ),
                    Value::String(s) => {
                        let (a, b) = s.split_once('.').ok_or_else(bad)?;
                        (a.to_string(), b.to_string())
                    }
                    _ => return Err(bad()),
                };
                match ctx.resources {
                    Some(r) => Ok(Some(Value::String(r(&res, Some(&attr)).ok_or_else(
                        || format!("Fn::GetAtt {res}.{attr}: the resource does not exist"),
                    )?))),
                    None => Ok(Some(node.clone())),
                }
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(t) => (t.clone(), Map::new()),
                    Value::Array(a) if !a.is_empty() => (
                        a[0].as_str().ok_or_else(bad)?.to_string(),
                        a.get(1)
                            .and_then(|x| x.as_object())
                            .cloned()
                            .unwrap_or_default(),
                    ),
                    _ => return Err(bad()),
                };
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let after = &rest[start + 2..];
                    let Some(end) = after.find('}') else {
                        out.push_str(&rest[start..]);
                        rest = "";
                        break;
                    };
                    let inner = after[..end].trim();
                    rest = &after[end + 1..];
                    if let Some(lit) = inner.strip_prefix('!') {
                        if ctx.resources.is_some() {
                            out.push_str(&format!("${{{lit}}}"));
                        } else {
                            out.push_str(&format!("${{!{lit}}}"));
                        }
                        continue;
                    }
                    let value = if let Some(v) = vars.get(inner) {
                        self.resolve_text(v, ctx)?
                    } else if let Some(p) = ctx.pseudo(inner) {
                        as_text(&p)
                    } else if let Some(p) = ctx.params.get(inner) {
                        Some(p.clone())
                    } else if let Some(r) = ctx.resources {
                        match inner.split_once('.') {
                            Some((a, b)) => r(a, Some(b)),
                            None => r(inner, None),
                        }
                    } else {
                        None
                    };
                    match value {
                        Some(v) => out.push_str(&v),
                        None if ctx.resources.is_none() => out.push_str(&format!("${{{inner}}}")),
                        None => return Err(format!("Fn::Sub: cannot resolve ${{{inner}}}")),
                    }
                }
                out.push_str(rest);
                Ok(Some(Value::String(out)))
            }
            "Fn::Join" => {
                let a = arg.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
                let sep = a[0].as_str().ok_or_else(bad)?;
                let items = self.resolve(&a[1], ctx)?.unwrap_or(Value::Array(vec![]));
                match items {
                    Value::Array(xs) => {
                        let mut parts = Vec::new();
                        for x in &xs {
                            match x {
                                Value::Object(_) => return keep(ctx),
                                other => parts.push(as_text(other).unwrap_or_default()),
                            }
                        }
                        Ok(Some(Value::String(parts.join(sep))))
                    }
                    _ => keep(ctx),
                }
            }
            "Fn::Select" => {
                let a = arg.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
                let idx = self
                    .resolve_text(&a[0], ctx)?
                    .and_then(|s| s.parse::<usize>().ok());
                let list = self.resolve(&a[1], ctx)?;
                match (idx, list) {
                    (Some(i), Some(Value::Array(xs))) => {
                        xs.get(i).cloned().map(Some).ok_or_else(|| {
                            format_error(format!("Fn::Select index {i} is out of range."))
                        })
                    }
                    (Some(i), Some(Value::String(s))) => s
                        .split(',')
                        .nth(i)
                        .map(|x| Some(Value::String(x.to_string())))
                        .ok_or_else(|| {
                            format_error(format!("Fn::Select index {i} is out of range."))
                        }),
                    _ => keep(ctx),
                }
            }
            "Fn::Split" => {
                let a = arg.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
                let sep = a[0].as_str().ok_or_else(bad)?;
                match self.resolve_text(&a[1], ctx)? {
                    Some(s) => Ok(Some(Value::Array(
                        s.split(sep).map(|x| Value::String(x.to_string())).collect(),
                    ))),
                    None => keep(ctx),
                }
            }
            "Fn::If" => {
                let a = arg.as_array().filter(|a| a.len() == 3).ok_or_else(bad)?;
                let c = a[0].as_str().ok_or_else(bad)?;
                let v = *ctx.conditions.get(c).ok_or_else(|| {
                    format_error(format!("Unresolved condition dependency {c} in Fn::If."))
                })?;
                self.resolve(if v { &a[1] } else { &a[2] }, ctx)
            }
            // The stack's own region: "" or its code, as templates write it.
            "Fn::GetAZs" => Ok(Some(Value::Array(
                ctx.zones.iter().cloned().map(Value::String).collect(),
            ))),
            "Fn::FindInMap" => {
                let a = arg.as_array().filter(|a| a.len() >= 3).ok_or_else(bad)?;
                let mut keys = Vec::new();
                for x in &a[..3] {
                    match self.resolve_text(x, ctx)? {
                        Some(k) => keys.push(k),
                        None => return keep(ctx),
                    }
                }
                self.mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| {
                        format_error(format!(
                            "Fn::FindInMap: no mapping {}/{}/{}.",
                            keys[0], keys[1], keys[2]
                        ))
                    })
            }
            "Fn::Base64" => match self.resolve_text(arg, ctx)? {
                Some(s) => Ok(Some(Value::String(s))),
                None => keep(ctx),
            },
            "Fn::ImportValue" => match self.resolve_text(arg, ctx)? {
                Some(s) => Ok(Some(Value::String(format!("imported-{s}")))),
                None => keep(ctx),
            },
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                let mut done = ctx.conditions.clone();
                let mut visiting = BTreeSet::new();
                let v = self.eval_cond_expr(node, ctx, &mut done, &mut visiting)?;
                Ok(Some(Value::Bool(v)))
            }
            _ => keep(ctx),
        }
    }
}

/// A resolver for references to resources: `(logical id, Some(attribute))`
/// for GetAtt, `(logical id, None)` for Ref.
pub type ResourceLookup<'a> = &'a dyn Fn(&str, Option<&str>) -> Option<String>;

/// What intrinsic functions resolve against.
pub struct Ctx<'a> {
    pub params: &'a BTreeMap<String, String>,
    pub conditions: &'a BTreeMap<String, bool>,
    pub region: &'a str,
    pub account: &'a str,
    pub stack_name: &'a str,
    pub stack_id: &'a str,
    /// The region's availability zones as EC2 lists them (`Fn::GetAZs`).
    pub zones: &'a [String],
    pub resources: Option<ResourceLookup<'a>>,
}

impl Ctx<'_> {
    fn pseudo(&self, name: &str) -> Option<Value> {
        Some(Value::String(match name {
            "AWS::Region" => self.region.to_string(),
            "AWS::AccountId" => self.account.to_string(),
            "AWS::StackName" => self.stack_name.to_string(),
            "AWS::StackId" => self.stack_id.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::URLSuffix" => "amazonaws.com".to_string(),
            "AWS::NotificationARNs" => return Some(Value::Array(vec![])),
            _ => return None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONES: &[String] = &[];

    fn ctx<'a>(params: &'a BTreeMap<String, String>, conds: &'a BTreeMap<String, bool>) -> Ctx<'a> {
        Ctx {
            params,
            conditions: conds,
            region: "eu-west-1",
            account: "123456789012",
            stack_name: "s",
            stack_id: "arn:s",
            zones: ZONES,
            resources: None,
        }
    }

    #[test]
    fn short_tag_yaml_parses_into_long_form_functions() {
        let t = parse(
            r#"
Parameters:
  Env: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      AvailabilityZone: !Select [0, !GetAZs ""]
      Tags:
        - Key: Name
          Value: !Sub "${AWS::StackName}-${Env}-${Vpc.CidrBlock}"
  Sg:
    Type: AWS::EC2::SecurityGroup
    Condition: IsProd
    Properties:
      VpcId: !GetAtt Vpc.VpcId
      GroupDescription: !Join ["-", [a, !If [IsProd, b, c]]]
"#,
        )
        .unwrap();
        let sub = &t.resources["Subnet"];
        assert_eq!(sub.properties["VpcId"], serde_json::json!({"Ref": "Vpc"}));
        assert_eq!(
            sub.properties["AvailabilityZone"],
            serde_json::json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(
            t.resources["Sg"].properties["VpcId"],
            serde_json::json!({"Fn::GetAtt": ["Vpc", "VpcId"]})
        );
        assert!(sub.deps.contains("Vpc"));
        assert!(t.resources["Sg"].deps.contains("Vpc"));
        let params = BTreeMap::from([("Env".to_string(), "prod".to_string())]);
        let empty = BTreeMap::new();
        let conds = t.evaluate_conditions(&ctx(&params, &empty)).unwrap();
        assert!(conds["IsProd"]);
        let c = ctx(&params, &conds);
        let gd = t
            .resolve(&t.resources["Sg"].properties["GroupDescription"], &c)
            .unwrap()
            .unwrap();
        assert_eq!(gd, serde_json::json!("a-b"));
    }

    #[test]
    fn json_templates_parse_too() {
        let t = parse(
            r#"{"Resources": {"A": {"Type": "AWS::SNS::Topic"},
                "B": {"Type": "AWS::SNS::Topic", "DependsOn": "A"}}}"#,
        )
        .unwrap();
        assert_eq!(t.resources["B"].deps, BTreeSet::from(["A".to_string()]));
    }

    #[test]
    fn reference_to_an_undefined_name_is_an_unresolved_dependency() {
        let e = parse(
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      X: !Ref Nope\n      Y: !Sub '${Missing.Arn} ${AWS::Region} ${!Literal}'\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Template format error: Unresolved resource dependencies [Missing, Nope] in the \
             Resources block of the template"
        );
    }

    #[test]
    fn circular_dependencies_are_refused_naming_the_resources() {
        let e = parse(
            "Resources:\n  A:\n    Type: T\n    Properties: {X: !Ref B}\n  B:\n    Type: T\n    DependsOn: A\n  C:\n    Type: T\n",
        )
        .unwrap_err();
        assert_eq!(e, "Circular dependency between resources: [A, B]");
    }

    #[test]
    fn template_over_51200_bytes_is_refused_with_the_aws_constraint() {
        let body = format!("Resources:\n  A:\n    Type: T\n# {}\n", "x".repeat(51_200));
        let e = parse(&body).unwrap_err();
        assert!(
            e.contains("Member must have length less than or equal to 51200"),
            "{e}"
        );
        assert!(e.contains("S3"), "{e}");
    }

    #[test]
    fn sub_ignores_pseudo_parameters_and_literals_but_sees_attributes() {
        assert_eq!(
            sub_names("${AWS::Region}-${!Lit}-${A}-${B.Arn}"),
            vec![
                ("A".to_string(), None),
                ("B".to_string(), Some("Arn".to_string()))
            ]
        );
    }
}
