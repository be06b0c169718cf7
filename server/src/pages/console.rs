//! The console host's page when no console was built into the installation.

use super::page;

/// Says that the server runs, and how to build the console.
pub fn console_not_built_page() -> String {
    page!(title: "Rosetta", body: {
        h1 { "Rosetta is running" }
        p {
            "The admin console has not been built into this installation. Build it with " code { "make console" }
            ", or use the " code { "rosetta" } " command line."
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_keeps_its_bytes() {
        assert_eq!(
            console_not_built_page(),
            include_str!("../../tests/fixtures/pages/console_not_built.html")
        );
    }
}
