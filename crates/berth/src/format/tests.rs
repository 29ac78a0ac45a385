//! Templates as Docker renders them: maps of several keys walked in key
//! order, Docker's functions, headers and columns of `table` formats.

use super::*;
use serde_json::json;

fn t(text: &str, data: &serde_json::Value) -> String {
    template(text, data).unwrap()
}

fn container() -> serde_json::Value {
    json!({
        "Name": "/web",
        "Args": ["-f", "-p", "80"],
        "Config": {"Labels": {"zeta": "1", "alpha": "2", "mid": "3", "Beta": "4"}},
        "NetworkSettings": {
            "Networks": {
                "front": {"IPAddress": "192.0.2.2"},
                "back": {"IPAddress": "198.51.100.2"},
                "bridge": {"IPAddress": "172.17.0.2"},
                "mgmt": {"IPAddress": "203.0.113.2"},
            },
            "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8081"}]},
        },
    })
}

#[test]
fn range_over_a_map_walks_its_keys_in_order() {
    let d = container();
    let text = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}";
    let want = "back=198.51.100.2 bridge=172.17.0.2 front=192.0.2.2 mgmt=203.0.113.2 ";
    // The same order every time (a HashMap would change it between runs).
    for _ in 0..20 {
        assert_eq!(t(text, &d), want);
    }
    assert_eq!(
        t(
            "{{range .NetworkSettings.Networks}}{{.IPAddress}},{{end}}",
            &d
        ),
        "198.51.100.2,172.17.0.2,192.0.2.2,203.0.113.2,"
    );
    // Go sorts byte-wise: upper case first.
    assert_eq!(
        t("{{range $k, $v := .Config.Labels}}{{$k}} {{end}}", &d),
        "Beta alpha mid zeta "
    );
    assert_eq!(
        t("{{.Config.Labels}}", &d),
        "map[Beta:4 alpha:2 mid:3 zeta:1]"
    );
}

#[test]
fn docker_functions() {
    let d = container();
    assert_eq!(t("{{join .Args \",\"}}", &d), "-f,-p,80");
    assert_eq!(t("{{join .Config.Labels \" \"}}", &d), "1 2 3 4");
    assert_eq!(t("{{split .Name \"e\"}}", &d), "[/w b]");
    assert_eq!(t("{{index (split \"a:b:c\" \":\") 1}}", &d), "b");
    assert_eq!(t("{{upper .Name}} {{lower \"ABC\"}}", &d), "/WEB abc");
    assert_eq!(
        t("{{title \"hello big-world x_y\"}}", &d),
        "Hello Big-World X_y"
    );
    assert_eq!(
        t("[{{pad .Name 2 1}}][{{pad \"\" 2 1}}]", &d),
        "[  /web ][]"
    );
    assert_eq!(
        t("{{truncate .Name 2}}|{{truncate .Name 9}}", &d),
        "/w|/web"
    );
    assert_eq!(
        t("{{json .NetworkSettings.Ports}}", &d),
        r#"{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8081"}]}"#
    );
    assert_eq!(
        t("{{json .Config.Labels}}", &d),
        r#"{"Beta":"4","alpha":"2","mid":"3","zeta":"1"}"#
    );
    assert_eq!(t("{{json \"<&>\"}}", &d), r#""<&>""#, "no HTML escaping");
    assert_eq!(
        t(
            "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}",
            &d
        ),
        "8081"
    );
    assert_eq!(t("{{.Nope}}", &d), "<no value>");
    assert!(template("{{.Name", &d)
        .unwrap_err()
        .to_string()
        .contains("template"));
    let e = template("{{join .Name \",\"}}", &d)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected slice"), "{e}");
    let e = template("{{pad .Name \"x\" 1}}", &d)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected int"), "{e}");
}

const SPEC: ListSpec = ListSpec {
    default: "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
    headers: &[
        ("ID", "NETWORK ID"),
        ("Name", "NAME"),
        ("Driver", "DRIVER"),
        ("Labels", "LABELS"),
    ],
    extra: &["Extra"],
};

fn rows() -> Vec<serde_json::Value> {
    vec![
        json!({"ID": "0123456789ab", "Name": "bridge", "Driver": "bridge", "Labels": "", "Label": {}, "Extra": "x"}),
        json!({"ID": "ba9876543210", "Name": "a-much-longer-name", "Driver": "macvlan", "Labels": "a=1,b=2", "Label": {"a": "1", "b": "2"}}),
    ]
}

#[test]
fn tables_have_headers_and_docker_columns() {
    // Each column is its widest cell + 3, at least 10; the last is not padded.
    assert_eq!(
        list(None, &rows(), &SPEC).unwrap(),
        "NETWORK ID     NAME                 DRIVER\n\
         0123456789ab   bridge               bridge\n\
         ba9876543210   a-much-longer-name   macvlan\n"
    );
    assert_eq!(
        list(Some("table"), &rows(), &SPEC).unwrap(),
        list(None, &rows(), &SPEC).unwrap()
    );
    // Header functions leave the column name alone; `pad` still pads.
    assert_eq!(
        list(
            Some("table {{upper .Name}}\\t{{pad .Driver 1 0}}"),
            &rows(),
            &SPEC
        )
        .unwrap(),
        format!(
            "{:21} DRIVER\n{:21} bridge\n{:21} macvlan\n",
            "NAME", "BRIDGE", "A-MUCH-LONGER-NAME"
        )
    );
    assert_eq!(
        list(
            Some("table {{.Name}}\\t{{.Label \"com.example.my-label\"}}\\t{{.Label \"b\"}}"),
            &rows(),
            &SPEC
        )
        .unwrap(),
        format!(
            "{:21}{:11}b\n{:21}{:11}\n{:21}{:11}2\n",
            "NAME", "my label", "bridge", "", "a-much-longer-name", ""
        )
    );
    // No rows: the header alone.
    assert_eq!(
        list(None, &[], &SPEC).unwrap(),
        "NETWORK ID   NAME      DRIVER\n"
    );
}

#[test]
fn plain_templates_and_json_rows() {
    assert_eq!(
        list(
            Some("{{.Name}} {{.Labels}} {{.Label \"a\"}}"),
            &rows(),
            &SPEC
        )
        .unwrap(),
        "bridge  \na-much-longer-name a=1,b=2 1\n"
    );
    assert_eq!(
        list(Some("{{.Name}}\\t{{.Driver}}"), &rows(), &SPEC).unwrap(),
        "bridge\tbridge\na-much-longer-name\tmacvlan\n"
    );
    let json = list(Some("json"), &rows(), &SPEC).unwrap();
    assert_eq!(
        json.lines().next().unwrap(),
        r#"{"Driver":"bridge","ID":"0123456789ab","Labels":"","Name":"bridge"}"#
    );
    // A field the rows do not have is an error, as in Docker.
    let e = list(Some("{{.Nope}}"), &rows(), &SPEC)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Nope"), "{e}");
}
