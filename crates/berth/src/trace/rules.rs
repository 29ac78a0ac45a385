//! The text of every rule by handle, and every base chain's hook, from
//! `nft -a list ruleset` (pure parsing): a trace event names a rule only by
//! its handle.

use std::collections::HashMap;

/// A base chain's declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    /// The hook (`prerouting`, `forward`, ...).
    pub hook: String,
    /// The policy (`accept` or `drop`).
    pub policy: String,
}

/// Rules and chains of the ruleset, keyed by family, table and chain.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    rules: HashMap<(String, String, String, u64), String>,
    chains: HashMap<(String, String, String), BaseChain>,
}

/// Braces in `line` outside double quotes: (opened, closed).
fn braces(line: &str) -> (usize, usize) {
    let mut quoted = false;
    let (mut open, mut close) = (0, 0);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => open += 1,
            '}' if !quoted => close += 1,
            _ => {}
        }
    }
    (open, close)
}

fn key(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_string(), b.to_string(), c.to_string())
}

impl RuleIndex {
    /// Parses nft's text listing with handles.
    pub fn parse(text: &str) -> RuleIndex {
        let mut idx = RuleIndex::default();
        let (mut family, mut table) = (String::new(), String::new());
        let mut chain: Option<String> = None;
        let mut depth = 0usize;
        for raw in text.lines() {
            let line = raw.trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            if depth == 0 && words.first() == Some(&"table") && words.len() >= 3 {
                family = words[1].to_string();
                table = words[2].to_string();
            } else if depth == 1 {
                // A chain opens here; a set, map or comment line ends it.
                chain = (words.first() == Some(&"chain"))
                    .then(|| words.get(1).map(|w| w.to_string()))
                    .flatten();
            } else if let (2, Some(c)) = (depth, &chain) {
                idx.line(&family, &table, c, line, &words);
            }
            let (open, close) = braces(line);
            depth = (depth + open).saturating_sub(close);
        }
        idx
    }

    fn line(&mut self, family: &str, table: &str, chain: &str, line: &str, words: &[&str]) {
        if words.first() == Some(&"type") {
            let after = |w: &str| {
                let i = words.iter().position(|x| *x == w)?;
                words
                    .get(i + 1)
                    .map(|s| s.trim_end_matches(';').to_string())
            };
            if let Some(hook) = after("hook") {
                let policy = after("policy").unwrap_or_else(|| "accept".into());
                self.chains
                    .insert(key(family, table, chain), BaseChain { hook, policy });
            }
            return;
        }
        if let Some((rule, handle)) = line.rsplit_once(" # handle ") {
            if let Ok(h) = handle.trim().parse() {
                self.rules.insert(
                    (family.into(), table.into(), chain.into(), h),
                    rule.trim().to_string(),
                );
            }
        }
    }

    /// The text of a rule.
    pub fn rule(&self, family: &str, table: &str, chain: &str, handle: u64) -> Option<&str> {
        self.rules
            .get(&(family.into(), table.into(), chain.into(), handle))
            .map(String::as_str)
    }

    /// The declaration of a base chain (`None` for a regular chain).
    pub fn base(&self, family: &str, table: &str, chain: &str) -> Option<&BaseChain> {
        self.chains.get(&key(family, table, chain))
    }
}

/// The comment of a rule's text, if any.
pub fn comment(rule: &str) -> Option<&str> {
    let (_, c) = rule.split_once("comment \"")?;
    c.strip_suffix('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"table inet berth { # handle 5
	comment "managed by berth"
	set bridges { # handle 2
		type ifname
		elements = { "br-1",
			     "br-2" }
	}
	chain forward { # handle 12
		type filter hook forward priority filter; policy accept;
		iifname . oifname @same_net goto same_net # handle 20
		iifname @bridges oifname @bridges drop comment "networks are isolated from each other" # handle 24
	}
	chain same_net { # handle 13
		iifname @no_icc drop comment "enable_icc=false" # handle 30
	}
}
table ip filter { # handle 7
	chain FORWARD { # handle 1
		type filter hook forward priority filter; policy drop;
		counter packets 0 bytes 0 jump DOCKER-USER # handle 4
	}
}
"#;

    #[test]
    fn rules_and_base_chains_by_handle() {
        let idx = RuleIndex::parse(TEXT);
        let r = idx.rule("inet", "berth", "forward", 24).unwrap();
        assert!(
            r.ends_with("comment \"networks are isolated from each other\""),
            "{r}"
        );
        assert_eq!(comment(r), Some("networks are isolated from each other"));
        assert_eq!(
            idx.rule("inet", "berth", "same_net", 30).map(comment),
            Some(Some("enable_icc=false"))
        );
        assert!(idx.rule("inet", "berth", "bridges", 2).is_none());
        assert_eq!(idx.base("ip", "filter", "FORWARD").unwrap().policy, "drop");
        assert_eq!(
            idx.base("inet", "berth", "forward").unwrap().hook,
            "forward"
        );
        assert!(idx.base("inet", "berth", "same_net").is_none());
        assert!(idx
            .rule("ip", "filter", "FORWARD", 4)
            .unwrap()
            .contains("jump DOCKER-USER"));
    }
}
