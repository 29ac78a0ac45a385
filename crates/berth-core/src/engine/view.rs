//! Read-only views of the engine's records for front-ends that draw or
//! check them (`berth topology`, `berth ui`): nothing here changes state.

use super::container::elements;
use super::Engine;
use crate::error::Result;
use crate::firewall::Element;
use crate::model::Container;

impl Engine {
    /// The published-port map elements container `c` needs while it runs
    /// (`ports4` `0.0.0.0/0 . tcp . 8080 : 192.0.2.2 . 80`...).
    pub fn port_elements(&mut self, c: &Container) -> Result<Vec<Element>> {
        let eps = self.endpoints(&c.id)?;
        let nets = self.networks()?;
        let mut v = elements(c, &eps, &nets);
        v.retain(|e| e.set.is_ports());
        Ok(v)
    }
}
