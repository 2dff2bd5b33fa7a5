//! Registry files as operators keep them in version control: TOML with any mix of
//! `[[member]]`, `[[resource]]` and `[[entry]]` tables.

use serde::Deserialize;

use crate::error::RegistryError;
use crate::model::{Entry, Member, RegistryData, Resource};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    member: Vec<Member>,
    #[serde(default)]
    resource: Vec<Resource>,
    #[serde(default)]
    entry: Vec<Entry>,
}

/// Parses one registry TOML file and adds its contents to `data`. `file` names
/// the file in errors; the parser's message gives line and column.
pub fn add_toml(data: &mut RegistryData, file: &str, text: &str) -> Result<(), RegistryError> {
    let shape: FileShape = toml::from_str(text).map_err(|e| RegistryError::File {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    data.members.extend(shape.member);
    data.catalogue.extend(shape.resource);
    data.list.extend(shape.entry);
    Ok(())
}
