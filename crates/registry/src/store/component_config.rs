//! Reading a Stack component configuration (`*.tfcomponent.hcl`) far enough to fill what
//! the API shows of a version: the providers named in `required_providers` blocks, and
//! the names (and type text) of `variable` and `output` blocks. A small tokenizer, not a
//! full HCL parser: comments, strings (with `${…}` interpolation), heredocs and nested
//! braces are understood; expressions are skipped, never evaluated.
//!
//! Pure: no I/O, no crate imports.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// What the configuration declares.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Declared {
    /// `{name, namespace, source}` per distinct provider source.
    pub providers: Vec<Value>,
    /// `{name, type, description}` per `variable` block.
    pub variables: Vec<Value>,
    /// `{name, description}` per `output` block.
    pub outputs: Vec<Value>,
}

/// Reads every file's text (they form one configuration) into [`Declared`].
pub(crate) fn declared(files: &[String]) -> Declared {
    let mut d = Declared::default();
    for text in files {
        let toks = tokenize(text);
        scan(&toks, &mut d);
    }
    d
}

/// Skips a `/* … */` comment starting at `i` (which points at `/`); returns the index after it.
fn skip_block_comment(b: &[char], mut i: usize) -> usize {
    i += 2;
    while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
        i += 1;
    }
    (i + 2).min(b.len())
}

/// Reads a quoted string starting at `i` (the opening quote); `${…}` parts are kept as text.
fn read_string(b: &[char], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    i += 1;
    while i < b.len() && b[i] != '"' && b[i] != '\n' {
        match b[i] {
            '\\' if i + 1 < b.len() => {
                s.push(b[i + 1]);
                i += 2;
            }
            '$' if b.get(i + 1) == Some(&'{') => {
                let mut depth = 0usize;
                while i < b.len() {
                    match b[i] {
                        '{' => depth += 1,
                        '}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    s.push(b[i]);
                    i += 1;
                }
                s.push('}');
                i += 1;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    (s, i + 1)
}

/// Skips a heredoc whose `<<` is at `i`; returns the index after its closing marker line.
fn skip_heredoc(b: &[char], i: usize) -> usize {
    let mut j = i + 2;
    if b.get(j) == Some(&'-') {
        j += 1;
    }
    let start = j;
    while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
        j += 1;
    }
    let marker: String = b[start..j].iter().collect();
    if marker.is_empty() {
        return i + 2;
    }
    let rest: String = b[j..].iter().collect();
    let mut offset = 0usize;
    for line in rest.split_inclusive('\n') {
        offset += line.chars().count();
        if offset > line.chars().count() && line.trim() == marker {
            return j + offset;
        }
    }
    b.len()
}

fn tokenize(text: &str) -> Vec<Tok> {
    let b: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '#' || (c == '/' && b.get(i + 1) == Some(&'/')) {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i = skip_block_comment(&b, i);
        } else if c == '"' {
            let (s, next) = read_string(&b, i);
            out.push(Tok::Str(s));
            i = next;
        } else if c == '<' && b.get(i + 1) == Some(&'<') {
            out.push(Tok::Str(String::new()));
            i = skip_heredoc(&b, i);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '-') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else {
            if !c.is_whitespace() {
                out.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// The index of the token after the `{ … }` group opening at `i`.
fn group_end(t: &[Tok], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < t.len() {
        match &t[j] {
            Tok::Punct('{' | '[' | '(') => depth += 1,
            Tok::Punct('}' | ']' | ')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    t.len()
}

/// `key = <string>` at the top level of the block body `t[from..to]` (inside its braces).
fn attr_str(t: &[Tok], from: usize, to: usize, key: &str) -> Option<String> {
    let mut j = from + 1;
    while j + 2 < to {
        match (&t[j], &t[j + 1], &t[j + 2]) {
            (Tok::Ident(k), Tok::Punct('='), Tok::Str(v)) if k == key => return Some(v.clone()),
            (_, _, _) if matches!(t[j], Tok::Punct('{' | '[' | '(')) => {
                j = group_end(t, j);
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// `key = <expression>` as text, for simple expressions (`string`, `list(string)`).
fn attr_text(t: &[Tok], from: usize, to: usize, key: &str) -> Option<String> {
    let mut j = from + 1;
    while j + 1 < to {
        if let (Tok::Ident(k), Tok::Punct('=')) = (&t[j], &t[j + 1]) {
            if k == key {
                let mut s = String::new();
                let mut depth = 0i32;
                for tok in &t[j + 2..to - 1] {
                    match tok {
                        Tok::Ident(_) if depth == 0 && !s.is_empty() && !s.ends_with('(') => break,
                        Tok::Ident(x) | Tok::Str(x) => s.push_str(x),
                        Tok::Punct(p) => {
                            if matches!(p, '(' | '{' | '[') {
                                depth += 1;
                            } else if matches!(p, ')' | '}' | ']') {
                                depth -= 1;
                            }
                            s.push(*p);
                            if depth == 0 && matches!(p, ')' | '}' | ']') {
                                break;
                            }
                        }
                    }
                }
                return (!s.is_empty()).then_some(s);
            }
        }
        if matches!(t[j], Tok::Punct('{' | '[' | '(')) {
            j = group_end(t, j);
            continue;
        }
        j += 1;
    }
    None
}

/// A provider source `[host/]namespace/type` as the API lists it.
fn provider_entry(local_name: &str, source: &str) -> Value {
    let parts: Vec<&str> = source.split('/').collect();
    let (ns, name) = match parts.as_slice() {
        [.., ns, name] => (*ns, *name),
        [name] => ("hashicorp", *name),
        [] => ("hashicorp", local_name),
    };
    json!({"name": name, "namespace": ns, "source": format!("{ns}/{name}")})
}

/// The entries of a `required_providers { … }` body at `t[open..end]`.
fn required_providers(t: &[Tok], open: usize, end: usize, d: &mut Declared) {
    let mut j = open + 1;
    while j + 2 < end {
        if let (Tok::Ident(local), Tok::Punct('='), Tok::Punct('{')) = (&t[j], &t[j + 1], &t[j + 2])
        {
            let close = group_end(t, j + 2);
            let source = attr_str(t, j + 2, close, "source").unwrap_or_else(|| local.clone());
            let entry = provider_entry(local, &source);
            if !d.providers.contains(&entry) {
                d.providers.push(entry);
            }
            j = close;
            continue;
        }
        j += 1;
    }
}

fn scan(t: &[Tok], d: &mut Declared) {
    let mut i = 0;
    while i < t.len() {
        match (&t[i], t.get(i + 1), t.get(i + 2)) {
            (Tok::Ident(k), Some(Tok::Punct('{')), _) if k == "required_providers" => {
                let end = group_end(t, i + 1);
                required_providers(t, i + 1, end, d);
                i = end;
            }
            (Tok::Ident(k), Some(Tok::Str(name)), Some(Tok::Punct('{')))
                if k == "variable" || k == "output" =>
            {
                let end = group_end(t, i + 2);
                let desc = attr_str(t, i + 2, end, "description");
                if k == "variable" {
                    let ty = attr_text(t, i + 2, end, "type");
                    d.variables
                        .push(json!({"name": name, "type": ty, "description": desc}));
                } else {
                    d.outputs.push(json!({"name": name, "description": desc}));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
}

/// A version's description: the first paragraph line of its README that is not a
/// heading, badge or HTML, at most 200 characters.
pub(crate) fn description(readme: &str) -> Option<String> {
    readme
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(['#', '!', '<', '[', '=', '-']))
        .map(|l| l.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
# providers of the stack
required_providers {
  aws = {
    source  = "hashicorp/aws"
    version = "~> 5.7.0"
  }
  random = {
    source = "registry.terraform.io/hashicorp/random"
  }
}
/* a block comment with required_providers { fake = {} } inside */
variable "regions" {
  type        = set(string)
  description = "The regions to deploy to, e.g. \"us-east-1\""
}
variable "prefix" {
  type = string
}
output "bucket_names" {
  type        = list(string)
  description = "Names"
  value       = [for x in component.s3 : "${x.bucket}-{}"]
}
component "s3" {
  source = "./s3"
  inputs = { note = <<-EOT
    variable "not_a_variable" {}
  EOT
  }
}
"#;

    #[test]
    fn reads_providers_variables_and_outputs() {
        let d = declared(&[CONFIG.to_string()]);
        assert_eq!(
            d.providers,
            vec![
                json!({"name": "aws", "namespace": "hashicorp", "source": "hashicorp/aws"}),
                json!({"name": "random", "namespace": "hashicorp", "source": "hashicorp/random"}),
            ]
        );
        let names: Vec<_> = d.variables.iter().map(|v| v["name"].clone()).collect();
        assert_eq!(names, vec![json!("regions"), json!("prefix")]);
        assert_eq!(d.variables[0]["type"], json!("set(string)"));
        assert_eq!(d.variables[1]["type"], json!("string"));
        assert_eq!(
            d.variables[0]["description"],
            json!("The regions to deploy to, e.g. \"us-east-1\"")
        );
        assert_eq!(d.outputs.len(), 1);
        assert_eq!(d.outputs[0]["name"], json!("bucket_names"));
    }

    #[test]
    fn duplicate_providers_across_files_are_listed_once() {
        let a = "required_providers { aws = { source = \"hashicorp/aws\" } }".to_string();
        let d = declared(&[a.clone(), a]);
        assert_eq!(d.providers.len(), 1);
    }

    #[test]
    fn description_skips_headings_and_badges() {
        let r = "# Title\n\n![badge](x)\nDeploys a VPC.\nMore.";
        assert_eq!(description(r).as_deref(), Some("Deploys a VPC."));
        assert_eq!(description("# only a title"), None);
    }
}
