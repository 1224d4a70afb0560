//! Stripe's form encoding: `application/x-www-form-urlencoded` with bracket notation
//! (`card[number]=…`, `metadata[order_id]=…`, `expand[]=…`, `payment_method_types[0]=…`),
//! parsed into a tree that handlers take parameters from. Whatever a handler leaves
//! untaken is an unknown parameter, reported as Stripe does.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};

/// One node of the parameter tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Value(String),
    /// `a[b]=…` children, and `a[0]=…` indexed children (kept as keys until read as a list).
    Map(BTreeMap<String, Param>),
    /// `a[]=…` appended values.
    List(Vec<Param>),
}

/// Parameters of one request; `name` is the bracketed path of this node (empty at the top).
#[derive(Debug, Default, Clone)]
pub struct Form {
    name: String,
    entries: BTreeMap<String, Param>,
}

impl Form {
    /// Parses a body or query string. Keys that Stripe would reject as malformed
    /// (`a[`, `a]b`, empty names) are errors, never guesses.
    pub fn parse(input: &[u8]) -> ApiResult<Form> {
        let mut entries: BTreeMap<String, Param> = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(input) {
            let path = split_key(&key)?;
            insert(&mut entries, &key, &path, value.into_owned())?;
        }
        Ok(Form {
            name: String::new(),
            entries,
        })
    }

    fn child_name(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.name)
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// A string parameter; an empty string counts as given (Stripe uses it to unset).
    pub fn take_str(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.entries.remove(key) {
            None => Ok(None),
            Some(Param::Value(v)) => Ok(Some(v)),
            Some(_) => Err(ApiError::invalid_value(
                &self.child_name(key),
                format!("Invalid string: {{...}} for {}", self.child_name(key)),
            )),
        }
    }

    /// A non-empty string parameter.
    pub fn take_nonempty(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.take_str(key)? {
            Some(v) if v.is_empty() => Err(ApiError::parameter_invalid_empty(
                &self.child_name(key),
                format!(
                    "You passed an empty string for '{}'. We assume empty values are an attempt to unset a parameter; however '{}' cannot be unset. You should remove '{}' from your request or supply a non-empty value.",
                    self.child_name(key), self.child_name(key), self.child_name(key)
                ),
            )),
            other => Ok(other),
        }
    }

    pub fn require_str(&mut self, key: &str) -> ApiResult<String> {
        let name = self.child_name(key);
        self.take_nonempty(key)?
            .ok_or_else(|| ApiError::parameter_missing(&name))
    }

    pub fn take_i64(&mut self, key: &str) -> ApiResult<Option<i64>> {
        let name = self.child_name(key);
        match self.take_nonempty(key)? {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::parameter_invalid_integer(&name, &v)),
        }
    }

    pub fn take_bool(&mut self, key: &str) -> ApiResult<Option<bool>> {
        let name = self.child_name(key);
        match self.take_nonempty(key)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid(
                "parameter_invalid_boolean",
                format!("Invalid boolean: {other}"),
            )
            .with_param(name)),
        }
    }

    /// One of a fixed set of strings (Stripe's enums).
    pub fn take_enum(
        &mut self,
        key: &str,
        allowed: &[&'static str],
    ) -> ApiResult<Option<&'static str>> {
        let name = self.child_name(key);
        match self.take_nonempty(key)? {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .copied()
                .find(|a| *a == v)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid_value(
                        &name,
                        format!("Invalid {name}: must be one of {}", allowed.join(", ")),
                    )
                }),
        }
    }

    /// A nested hash such as `card[...]`.
    pub fn take_form(&mut self, key: &str) -> ApiResult<Option<Form>> {
        let name = self.child_name(key);
        match self.entries.remove(key) {
            None => Ok(None),
            Some(Param::Map(entries)) => Ok(Some(Form { name, entries })),
            // `metadata=` (empty) unsets a hash in Stripe; treat it as an empty hash.
            Some(Param::Value(v)) if v.is_empty() => Ok(Some(Form {
                name,
                entries: BTreeMap::new(),
            })),
            Some(_) => Err(ApiError::invalid_value(
                &name,
                format!("Invalid object for {name}"),
            )),
        }
    }

    /// A list of strings, given as `a[]=x&a[]=y` or `a[0]=x&a[1]=y`.
    pub fn take_str_list(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let name = self.child_name(key);
        let bad = || ApiError::invalid_value(&name, format!("Invalid array for {name}"));
        match self.entries.remove(key) {
            None => Ok(None),
            Some(Param::List(items)) => items
                .into_iter()
                .map(|p| match p {
                    Param::Value(v) => Ok(v),
                    _ => Err(bad()),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(Param::Map(map)) => {
                let mut indexed = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let index: usize = k.parse().map_err(|_| bad())?;
                    match v {
                        Param::Value(v) => indexed.push((index, v)),
                        _ => return Err(bad()),
                    }
                }
                indexed.sort_by_key(|(i, _)| *i);
                Ok(Some(indexed.into_iter().map(|(_, v)| v).collect()))
            }
            Some(Param::Value(v)) if v.is_empty() => Ok(Some(Vec::new())),
            Some(Param::Value(_)) => Err(bad()),
        }
    }

    /// A string-to-string hash (`metadata[...]`), checked against Stripe's metadata limits.
    pub fn take_metadata(&mut self, key: &str) -> ApiResult<Option<BTreeMap<String, String>>> {
        let Some(mut form) = self.take_form(key)? else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        let keys: Vec<String> = form.entries.keys().cloned().collect();
        if keys.len() > 50 {
            return Err(ApiError::invalid_value(
                &form.name,
                "Invalid metadata: metadata cannot have more than 50 keys",
            ));
        }
        for k in keys {
            let child = form.child_name(&k);
            let v = form.take_str(&k)?.unwrap_or_default();
            if k.chars().count() > 40 {
                return Err(ApiError::invalid_value(
                    &child,
                    "Invalid metadata: keys can be at most 40 characters long",
                ));
            }
            if v.chars().count() > 500 {
                return Err(ApiError::invalid_value(
                    &child,
                    "Invalid metadata: values can be at most 500 characters long",
                ));
            }
            out.insert(k, v);
        }
        Ok(Some(out))
    }

    /// Ends parsing: anything left is a parameter the endpoint does not know.
    pub fn finish(self) -> ApiResult<()> {
        match self.entries.into_iter().next() {
            None => Ok(()),
            Some((key, param)) => {
                let mut name = if self.name.is_empty() {
                    key
                } else {
                    format!("{}[{key}]", self.name)
                };
                // Report the first leaf, as Stripe does (`card[foo]`, not `card`).
                let mut node = param;
                while let Param::Map(map) = node {
                    match map.into_iter().next() {
                        Some((k, v)) => {
                            name = format!("{name}[{k}]");
                            node = v;
                        }
                        None => break,
                    }
                }
                Err(ApiError::parameter_unknown(&name))
            }
        }
    }
}

/// `a[b][]` → `["a", "b", ""]`.
fn split_key(key: &str) -> ApiResult<Vec<String>> {
    let malformed = || {
        ApiError::invalid(
            "parameter_unknown",
            format!("Invalid parameter name: {key}"),
        )
        .with_param(key)
    };
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return Err(malformed());
    }
    let mut path = vec![head.to_owned()];
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return Err(malformed());
        }
        let end = rest.find(']').ok_or_else(malformed)?;
        let part = &rest[1..end];
        if part.contains('[') {
            return Err(malformed());
        }
        path.push(part.to_owned());
        rest = &rest[end + 1..];
    }
    if path.len() > 6 {
        return Err(malformed());
    }
    Ok(path)
}

fn insert(
    entries: &mut BTreeMap<String, Param>,
    key: &str,
    path: &[String],
    value: String,
) -> ApiResult<()> {
    let conflict = || {
        ApiError::invalid(
            "parameter_invalid_empty",
            format!("Invalid parameter structure at {key}"),
        )
        .with_param(key)
    };
    let (first, rest) = path
        .split_first()
        .expect("split_key gives at least one part");
    if rest.is_empty() {
        // Repeated scalar keys: the last one wins, as in Rack-style parsers.
        entries.insert(first.clone(), Param::Value(value));
        return Ok(());
    }
    if rest[0].is_empty() {
        // `a[]=x` appends; nothing may follow the `[]`.
        if rest.len() > 1 {
            return Err(conflict());
        }
        match entries
            .entry(first.clone())
            .or_insert_with(|| Param::List(Vec::new()))
        {
            Param::List(items) => items.push(Param::Value(value)),
            _ => return Err(conflict()),
        }
        return Ok(());
    }
    match entries
        .entry(first.clone())
        .or_insert_with(|| Param::Map(BTreeMap::new()))
    {
        Param::Map(children) => insert(children, key, rest, value),
        _ => Err(conflict()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_nest_and_lists_come_in_both_notations() {
        let mut form = Form::parse(
            b"card%5Bnumber%5D=4242&expand[]=a&expand[]=b&types[1]=y&types[0]=x&metadata[k]=v",
        )
        .unwrap();
        let mut card = form.take_form("card").unwrap().unwrap();
        assert_eq!(card.take_str("number").unwrap().as_deref(), Some("4242"));
        card.finish().unwrap();
        assert_eq!(
            form.take_str_list("expand").unwrap().unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            form.take_str_list("types").unwrap().unwrap(),
            vec!["x", "y"]
        );
        assert_eq!(form.take_metadata("metadata").unwrap().unwrap()["k"], "v");
        form.finish().unwrap();
    }

    #[test]
    fn an_untaken_nested_parameter_is_reported_by_its_full_name() {
        let mut form = Form::parse(b"card[number]=1&card[colour]=red").unwrap();
        let mut card = form.take_form("card").unwrap().unwrap();
        card.take_str("number").unwrap();
        let err = card.finish().unwrap_err();
        assert_eq!(err.code, Some("parameter_unknown"));
        assert_eq!(err.param.as_deref(), Some("card[colour]"));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for body in [&b"a[=1"[..], b"a]=1", b"=1", b"a[b]c=1", b"a[][x]=1"] {
            assert!(
                Form::parse(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn integers_and_booleans_are_checked() {
        let mut form = Form::parse(b"amount=12x&confirm=yes").unwrap();
        assert_eq!(
            form.take_i64("amount").unwrap_err().code,
            Some("parameter_invalid_integer")
        );
        assert_eq!(
            form.take_bool("confirm").unwrap_err().code,
            Some("parameter_invalid_boolean")
        );
    }
}
