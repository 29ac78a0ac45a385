//! Read-only views of the engine's records for front-ends that draw or
//! check them (`berth topology`, `berth ui`): nothing here changes state.

use super::container::elements;
use super::Engine;
use crate::error::Result;
use crate::model::Container;

impl Engine {
    /// The published-port map elements container `c` needs while it runs,
    /// as `(map, element)` in nft's text form, e.g. `("ports4",
    /// "0.0.0.0/0 . tcp . 8080 : 192.0.2.2 . 80")`.
    pub fn port_elements(&mut self, c: &Container) -> Result<Vec<(String, String)>> {
        let eps = self.endpoints(&c.id)?;
        let nets = self.networks()?;
        let (add, _) = elements(c, &eps, &nets);
        Ok(add.text().lines().filter_map(parse_add_element).collect())
    }
}

/// `add element inet berth ports4 { ELEM }` → `("ports4", "ELEM")`, for
/// the port maps only.
fn parse_add_element(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("add element inet berth ")?;
    let (map, elem) = rest.split_once(" { ")?;
    let elem = elem.strip_suffix(" }")?;
    map.starts_with("ports")
        .then(|| (map.to_string(), elem.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn add_element_lines() {
        assert_eq!(
            super::parse_add_element(
                "add element inet berth ports4 { 0.0.0.0/0 . tcp . 8080 : 192.0.2.2 . 80 }"
            ),
            Some((
                "ports4".into(),
                "0.0.0.0/0 . tcp . 8080 : 192.0.2.2 . 80".into()
            ))
        );
        assert_eq!(
            super::parse_add_element("add element bridge berth no_icc_ports { \"veth1\" }"),
            None
        );
    }
}
