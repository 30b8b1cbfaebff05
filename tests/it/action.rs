//! Runs the composite `action.yml` the way the runner would, without a runner.
//!
//! The harness reads the action, evaluates only the few `${{ }}` expressions the action
//! needs (anything else fails loudly, so a new expression cannot silently become ""),
//! runs each `run:` step with `bash -e`, collects step outputs from GITHUB_OUTPUT, and
//! resolves the action's outputs. `uses:` steps are only allowed when their `if:` is false
//! (the cache step, skipped because tfpub is pre-installed via TFPUB_BINARY).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

use crate::support::{repo_root, testdata, TestRegistry};

/// Context the expression evaluator can read.
#[derive(Default)]
struct Ctx {
    inputs: BTreeMap<String, String>,
    github: BTreeMap<String, String>,
    runner_temp: String,
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

impl Ctx {
    fn lookup(&self, path: &str) -> Result<String, String> {
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => self
                .inputs
                .get(*name)
                .cloned()
                .ok_or_else(|| format!("unknown input {name:?}")),
            ["github", key @ ("action_path" | "action_ref" | "action_repository")] => {
                Ok(self.github.get(*key).cloned().unwrap_or_default())
            }
            ["runner", "temp"] => Ok(self.runner_temp.clone()),
            ["steps", id, "outputs", name] => Ok(self
                .steps
                .get(*id)
                .and_then(|o| o.get(*name))
                .cloned()
                .unwrap_or_default()),
            _ => Err(format!("unsupported expression {path:?}")),
        }
    }

    /// Evaluates one expression body: a context path, or `path == 'literal'`.
    fn eval_expr(&self, expr: &str) -> Result<String, String> {
        let expr = expr.trim();
        if let Some((l, r)) = expr.split_once("==") {
            let l = self.eval_expr(l)?;
            let r = r.trim();
            let lit = r
                .strip_prefix('\'')
                .and_then(|r| r.strip_suffix('\''))
                .ok_or_else(|| format!("right side of == must be a 'literal': {r:?}"))?;
            return Ok((l == lit).to_string());
        }
        let ok = !expr.is_empty()
            && expr
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(format!("unsupported expression {expr:?}"));
        }
        self.lookup(expr)
    }

    /// Substitutes every `${{ }}` in a string.
    fn render(&self, s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unterminated expression in {s:?}"))?;
            out.push_str(&self.eval_expr(&after[..end])?);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `if:` conditions: with or without `${{ }}`, result must be true/false.
    fn condition(&self, s: &str) -> Result<bool, String> {
        let t = s.trim();
        let v = if t.starts_with("${{") {
            self.render(t)?
        } else {
            self.eval_expr(t)?
        };
        match v.as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            other => Err(format!("condition {s:?} evaluated to {other:?}")),
        }
    }
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// Parses GITHUB_OUTPUT content: `k=v` lines and `k<<DELIM` blocks.
fn parse_output_file(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = s.lines();
    while let Some(l) = lines.next() {
        if let Some((name, delim)) = l.split_once("<<") {
            let mut v = Vec::new();
            let mut closed = false;
            for l in lines.by_ref() {
                if l == delim {
                    closed = true;
                    break;
                }
                v.push(l);
            }
            assert!(closed, "unterminated heredoc output {name}");
            out.insert(name.to_owned(), v.join("\n"));
        } else if let Some((k, v)) = l.split_once('=') {
            out.insert(k.to_owned(), v.to_owned());
        } else if !l.is_empty() {
            panic!("malformed GITHUB_OUTPUT line {l:?}");
        }
    }
    out
}

pub(crate) struct RunResult {
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) log: String,
    pub(crate) summary: String,
    /// Exit code of the first failing step, or 0.
    pub(crate) code: i32,
}

/// Runs a composite action file with the given `with:` inputs and extra environment.
pub(crate) fn run_action(
    action_yml: &str,
    action_path: &Path,
    with: &[(&str, &str)],
    env: &[(&str, &str)],
    tmp: &Path,
) -> Result<RunResult, String> {
    let doc: Value = serde_yaml::from_str(action_yml).map_err(|e| e.to_string())?;
    let mut ctx = Ctx::default();
    ctx.github
        .insert("action_path".into(), action_path.display().to_string());
    let runner_temp = tmp.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    ctx.runner_temp = runner_temp.display().to_string();

    let inputs = doc["inputs"].as_mapping().cloned().unwrap_or_default();
    for (k, spec) in &inputs {
        let k = str_of(k);
        let given = with
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string());
        let value = match given {
            Some(v) => v,
            None => {
                if spec["required"].as_bool() == Some(true) {
                    return Err(format!("required input {k} missing"));
                }
                ctx.render(&str_of(&spec["default"]))?
            }
        };
        ctx.inputs.insert(k, value);
    }
    for (n, _) in with {
        if !ctx.inputs.contains_key(*n) {
            return Err(format!("input {n} is not declared in action.yml"));
        }
    }
    assert_eq!(
        doc["runs"]["using"].as_str(),
        Some("composite"),
        "only composite actions"
    );

    let summary_file = tmp.join("step-summary.md");
    let env_file = tmp.join("github-env");
    let path_file = tmp.join("github-path");
    for f in [&summary_file, &env_file, &path_file] {
        std::fs::write(f, "").unwrap();
    }
    let mut log = String::new();
    let mut code = 0;
    let steps = doc["runs"]["steps"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    for (n, step) in steps.iter().enumerate() {
        if let Some(cond) = step.get("if") {
            if !ctx.condition(&str_of(cond))? {
                continue;
            }
        }
        if step.get("uses").is_some() {
            return Err(format!(
                "step {n} uses an action; the harness cannot run it"
            ));
        }
        let script = str_of(&step["run"]);
        if script.contains("${{") {
            return Err(format!("step {n}: expression inside run: (use env:)"));
        }
        let shell = step["shell"].as_str().unwrap_or("");
        if shell != "bash" {
            return Err(format!("step {n}: shell must be bash, got {shell:?}"));
        }
        let script_file = tmp.join(format!("step-{n}.sh"));
        std::fs::write(&script_file, &script).unwrap();
        let output_file = tmp.join(format!("step-{n}.out"));
        std::fs::write(&output_file, "").unwrap();

        let mut cmd = Command::new("bash");
        cmd.arg("--noprofile")
            .arg("--norc")
            .arg("-e")
            .arg("-o")
            .arg("pipefail")
            .arg(&script_file)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", tmp)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("GITHUB_ENV", &env_file)
            .env("GITHUB_PATH", &path_file)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", &runner_temp)
            .current_dir(tmp);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(m) = step["env"].as_mapping() {
            for (k, v) in m {
                cmd.env(str_of(k), ctx.render(&str_of(v))?);
            }
        }
        let out = cmd.output().map_err(|e| format!("step {n}: {e}"))?;
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        if let Some(id) = step.get("id") {
            let produced = parse_output_file(&std::fs::read_to_string(&output_file).unwrap());
            ctx.steps.insert(str_of(id), produced);
        }
        if !out.status.success() {
            code = out.status.code().unwrap_or(-1);
            break;
        }
    }
    let mut outputs = BTreeMap::new();
    if let Some(m) = doc["outputs"].as_mapping() {
        for (k, spec) in m {
            outputs.insert(str_of(k), ctx.render(&str_of(&spec["value"]))?);
        }
    }
    Ok(RunResult {
        outputs,
        log,
        summary: std::fs::read_to_string(&summary_file).unwrap(),
        code,
    })
}

const TINY: &str = r#"
name: tiny
description: t
inputs:
  greeting: {description: g, required: true}
  who: {description: w, default: "world"}
outputs:
  said: {description: s, value: "${{ steps.say.outputs.said }}"}
  where: {description: w, value: "${{ steps.say.outputs.where }}"}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env:
        G: ${{ inputs.greeting }}
        W: ${{ inputs.who }}
        T: ${{ runner.temp }}
      run: |
        echo "said=$G, $W" >> "$GITHUB_OUTPUT"
        echo "where=$T" >> "$GITHUB_OUTPUT"
        echo "printed $G"
    - if: ${{ steps.say.outputs.said == 'nope' }}
      uses: actions/cache@0000000000000000000000000000000000000000
    - if: ${{ inputs.who == 'fail' }}
      shell: bash
      run: exit 3
"#;

#[test]
fn harness_runs_tiny_action_and_collects_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run_action(TINY, tmp.path(), &[("greeting", "hi")], &[], tmp.path()).unwrap();
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.outputs["said"], "hi, world");
    assert!(r.outputs["where"].ends_with("runner-temp"));
    assert!(r.log.contains("printed hi"));
    // The conditional failing step runs only when asked.
    let r = run_action(
        TINY,
        tmp.path(),
        &[("greeting", "hi"), ("who", "fail")],
        &[],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(r.code, 3);
}

#[test]
fn harness_rejects_missing_and_unknown_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let e = run_action(TINY, tmp.path(), &[], &[], tmp.path())
        .err()
        .unwrap();
    assert!(e.contains("required input greeting"), "{e}");
    let e = run_action(
        TINY,
        tmp.path(),
        &[("greeting", "x"), ("typo", "y")],
        &[],
        tmp.path(),
    )
    .err()
    .unwrap();
    assert!(e.contains("typo"), "{e}");
}

#[test]
fn evaluator_supports_only_known_expressions() {
    let mut ctx = Ctx::default();
    ctx.inputs.insert("a".into(), "1".into());
    ctx.runner_temp = "/t".into();
    ctx.github.insert("action_path".into(), "/ap".into());
    assert_eq!(
        ctx.render("x${{ inputs.a }}-${{runner.temp}}-${{ github.action_path }}")
            .unwrap(),
        "x1-/t-/ap"
    );
    assert_eq!(ctx.render("${{ inputs.a == '1' }}").unwrap(), "true");
    assert!(!ctx.condition("${{ steps.x.outputs.y == 'z' }}").unwrap());
    for bad in [
        "${{ secrets.TOKEN }}",
        "${{ github.token }}",
        "${{ inputs.missing }}",
        "${{ format('{0}', inputs.a) }}",
        "${{ inputs.a",
    ] {
        assert!(ctx.render(bad).is_err(), "{bad} must fail");
    }
}

#[test]
fn harness_refuses_expressions_inside_run() {
    let yml = r#"
name: t
description: t
inputs: {x: {description: x, default: ""}}
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "${{ inputs.x }}"
"#;
    let tmp = tempfile::tempdir().unwrap();
    let e = run_action(yml, tmp.path(), &[], &[], tmp.path())
        .err()
        .unwrap();
    assert!(e.contains("inside run"), "{e}");
}

#[test]
fn real_action_yml_is_harness_compatible_and_has_no_run_expressions() {
    let yml = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let doc: Value = serde_yaml::from_str(&yml).unwrap();
    for step in doc["runs"]["steps"].as_sequence().unwrap() {
        if let Some(run) = step.get("run") {
            assert!(
                !str_of(run).contains("${{"),
                "expression inside run: {step:?}"
            );
        }
    }
    for out in ["published", "version", "registry-url", "result-json"] {
        assert!(doc["outputs"][out]["value"].is_string(), "output {out}");
    }
}

/// A fake tfpub standing in for the binary: checks argv and environment, then prints a
/// result and records the `ci github-report` call (the real report is covered by the
/// end-to-end test and by `gha`'s unit tests). Proves argv building, secret
/// masking and exit-code propagation without a registry.
#[test]
fn action_builds_argv_masks_secrets_and_propagates_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("fake-tfpub");
    std::fs::write(
        &fake,
        r#"#!/usr/bin/env bash
if [ "$1" = ci ]; then echo "report-called:$2:$3"; grep -q '"boom"' "$4" && exit 0; exit 8; fi
printf '%s\n' "$@" > "$RUNNER_TEMP/argv"
[ "$TFE_TOKEN" = "tok-SECRET-1" ] || exit 9
[ "$TFE_HOSTNAME" = "h.example" ] || exit 9
printf '%s' "$TFPUB_GPG_PRIVATE_KEY" | grep -q KEYLINE-SECRET || exit 9
cat <<'J'
{"schema":"tfpub.result/v1","command":"module publish","ok":false,"outcome":"failed","published":false,"target":null,"items":[],"error":{"message":"boom","causes":[],"hint":null}}
J
exit 1
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yml = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let r = run_action(
        &yml,
        &repo_root(),
        &[
            ("command", "module publish"),
            ("path", "dir with spaces"),
            ("version", "1.2.3"),
            ("hostname", "h.example"),
            ("token", "tok-SECRET-1"),
            (
                "gpg-private-key",
                "-----BEGIN-----\nKEYLINE-SECRET\n-----END-----",
            ),
            ("gpg-passphrase", "pass-SECRET-2"),
            ("dry-run", "true"),
            ("args", "--allow-dirty  -v"),
        ],
        &[("TFPUB_BINARY", fake.to_str().unwrap())],
        tmp.path(),
    )
    .unwrap();
    assert_eq!(r.code, 1, "{}", r.log);
    let argv = std::fs::read_to_string(tmp.path().join("runner-temp/argv")).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "--json",
            "module",
            "publish",
            "dir with spaces",
            "--version",
            "1.2.3",
            "--dry-run",
            "--allow-dirty",
            "-v"
        ]
    );
    for s in ["tok-SECRET-1", "KEYLINE-SECRET", "pass-SECRET-2"] {
        assert!(
            r.log.contains(&format!("::add-mask::{s}")),
            "{s} not masked"
        );
    }
    assert!(
        r.log.contains("report-called:github-report:--result"),
        "{}",
        r.log
    );
}

/// `require-tests: true` becomes `--require-tests`; anything but a boolean is refused.
#[test]
fn action_passes_require_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("fake-tfpub");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\nif [ \"$1\" = ci ]; then exit 0; fi\nprintf '%s\\n' \"$@\" > \"$RUNNER_TEMP/argv\"\necho '{}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yml = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let run = |value: &str| {
        run_action(
            &yml,
            &repo_root(),
            &[("command", "module sync"), ("require-tests", value)],
            &[("TFPUB_BINARY", fake.to_str().unwrap())],
            tmp.path(),
        )
        .unwrap()
    };
    let r = run("true");
    assert_eq!(r.code, 0, "{}", r.log);
    let argv = std::fs::read_to_string(tmp.path().join("runner-temp/argv")).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        ["--json", "module", "sync", "--require-tests"]
    );
    let r = run("maybe");
    assert_eq!(r.code, 2, "{}", r.log);
    assert!(
        r.log.contains("require-tests must be true or false"),
        "{}",
        r.log
    );
}

/// End to end against the embedded registry with the real CLI.
#[tokio::test(flavor = "multi_thread")]
async fn action_publishes_module_to_embedded_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = TestRegistry::start().await;
    let host = reg.host();
    let module = testdata("modules/terraform-null-greeting");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let root = repo_root();
    let r = tokio::task::spawn_blocking(move || {
        let yml = std::fs::read_to_string(root.join("action.yml")).unwrap();
        run_action(
            &yml,
            &root,
            &[
                ("command", "module publish"),
                ("path", module.to_str().unwrap()),
                ("name", "greeting"),
                ("provider", "null"),
                ("version", "1.0.0"),
                ("organization", "acme"),
                ("hostname", &host),
                ("token", "tok-E2E-SECRET"),
                ("args", "--allow-dirty"),
            ],
            &[("TFPUB_BINARY", env!("CARGO_BIN_EXE_tfpub"))],
            &work,
        )
        .unwrap()
    })
    .await
    .unwrap();
    reg.stop().await;
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.outputs["published"], "true", "{}", r.log);
    assert_eq!(r.outputs["version"], "1.0.0");
    assert!(!r.outputs["registry-url"].is_empty());
    let doc: serde_json::Value = serde_json::from_str(&r.outputs["result-json"]).unwrap();
    assert_eq!(doc["outcome"], "published");
    assert!(r.summary.contains("| module-version |"), "{}", r.summary);
    let unmasked = r.log.replace("::add-mask::tok-E2E-SECRET", "");
    assert!(
        !unmasked.contains("tok-E2E-SECRET"),
        "token leaked: {}",
        r.log
    );
}
