//! One version everywhere: the workspace's is the binary's (`seats --version`), the container
//! image's label (docker/build passes it), the Python wheel's (maturin reads it from this
//! crate) and the npm packages', launcher and platform alike.

mod common;

use std::path::Path;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn json(path: &str) -> serde_json::Value {
    serde_json::from_str(&repo(path)).unwrap()
}

#[test]
fn the_binary_the_wheel_the_image_and_the_npm_packages_share_the_workspace_version() {
    let out = common::run_with(&["--version"], &[], None);
    assert_eq!(out.stdout.trim(), format!("seats {VERSION}"));

    // The wheel: maturin takes the version of the crate it builds, which is this one.
    let pyproject = repo("python/pyproject.toml");
    assert!(pyproject.contains("dynamic = [\"version\"]"), "{pyproject}");
    assert!(pyproject.contains("manifest-path = \"../crates/seats-cli/Cargo.toml\""));

    // The image: docker/build reads the workspace version and labels the image with it.
    let build = repo("docker/build");
    assert!(build.contains("--build-arg \"VERSION=$version\""), "{build}");
    assert!(repo("docker/Dockerfile").contains("org.opencontainers.image.version=\"${VERSION}\""));

    let launcher = json("npm/seats-server/package.json");
    let platform = json("npm/linux-x64/package.json");
    assert_eq!(launcher["version"], VERSION, "npm/seats-server");
    assert_eq!(platform["version"], VERSION, "npm/linux-x64");
    assert_eq!(
        launcher["optionalDependencies"][platform["name"].as_str().unwrap()],
        VERSION,
        "the launcher asks for the platform package of its own version"
    );
}
