//! Registry files as operators keep them in version control: TOML with any mix of
//! `[[member]]`, `[[resource]]` and `[[entry]]` tables.

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::model::{Entry, Member, RegistryData, Resource};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    member: Vec<Member>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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

/// Adds a registry file of any supported kind, by extension: `.toml`, `.csv`
/// or `.xlsx`; all the file's errors together, or none. [`crate::Import`]
/// reads several files as one import and places cross-check errors too.
pub fn add_file(data: &mut RegistryData, file: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    let mut import = crate::Import::default();
    import.add_file(file, bytes);
    import.append_to(data)
}

/// The registry as one TOML file.
pub fn to_toml(data: &RegistryData) -> Result<String, RegistryError> {
    let shape = FileShape {
        member: data.members.clone(),
        resource: data.catalogue.clone(),
        entry: data.list.clone(),
    };
    toml::to_string(&shape).map_err(|e| RegistryError::File {
        file: "export.toml".into(),
        message: e.to_string(),
    })
}
