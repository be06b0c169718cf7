//! Reading parsed XML (roxmltree): elements by namespace and local name, and text that must
//! be plain.

/// Whether `node` is the element `{ns}name`.
pub(crate) fn is_element(node: roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

/// The direct element children `{ns}name` of `node`.
pub(crate) fn child_elements<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|c| is_element(*c, ns, name)).collect()
}

/// The trimmed text of an element that must hold only text; `None` when it holds comments or
/// elements. With comments inside, parsers disagree on what "the text" is
/// (`https://good.example<!---->.evil.example`), a known SAML pitfall.
pub(crate) fn plain_text(node: roxmltree::Node<'_, '_>) -> Option<String> {
    let mut text = String::new();
    for child in node.children() {
        match child.text() {
            Some(t) if child.is_text() => text.push_str(t),
            _ => return None,
        }
    }
    Some(text.trim().to_owned())
}
