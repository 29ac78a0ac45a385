//! Cables between labs: a veth pair with one end in this lab and the other
//! in another lab's network namespace, for worlds of several hosts (each
//! host a lab with its own network and mount namespaces and `BERTH_ROOT`,
//! joined by an underlay bridge in one more lab).

use crate::exec::{check_output, output_with_timeout};
use crate::lab::check_name;
use crate::{Lab, LabError, DEFAULT_TIMEOUT};

impl Lab {
    /// Creates a veth pair: `here` in this lab and `there` in `other`'s
    /// network namespace, both up
    /// and without addresses. With `bridge`, `there` becomes a port of that
    /// bridge of `other` (which must exist). Names: up to 15 characters of
    /// `[A-Za-z0-9_-]`.
    ///
    /// ```no_run
    /// let under = berth_lab::Lab::bare("under")?;
    /// under.sh_ok("ip link add under type bridge && ip link set under up");
    /// let host = berth_lab::Lab::new("host1")?;
    /// host.link_to(&under, "ul0", "ul-host1", Some("under"))?;
    /// # Ok::<(), berth_lab::LabError>(())
    /// ```
    pub fn link_to(
        &self,
        other: &Lab,
        here: &str,
        there: &str,
        bridge: Option<&str>,
    ) -> Result<(), LabError> {
        check_name(here, 15)?;
        check_name(there, 15)?;
        // The other lab's PIDs are not visible from this lab's PID
        // namespace: its network namespace is passed as descriptor 9.
        let script = format!(
            "set -e
ip link add {here} type veth peer name {there} netns /proc/self/fd/9
ip link set {here} up"
        );
        let mut cmd = self.command_with_netns_of(other, "sh");
        cmd.arg("-c").arg(&script);
        let what = format!("link two labs (lab {}): {script}", self.name());
        check_output(what, output_with_timeout(cmd, DEFAULT_TIMEOUT))?;
        let mut far = format!("set -e\nip link set {there} up\n");
        if let Some(b) = bridge {
            check_name(b, 15)?;
            far.push_str(&format!("ip link set {there} master {b}\n"));
        }
        other.run_ok("plug the far end", &far)?;
        Ok(())
    }
}
