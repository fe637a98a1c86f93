//! The seeds' "Creating Named Shared Memory", in Rust.
//!
//! In one terminal: `cargo run -p filemap --example named_shared_memory -- first`
//! (creates the object, writes the message, waits for Enter);
//! in another, meanwhile: `cargo run -p filemap --example named_shared_memory -- second`
//! (opens it by name and prints the message).

use filemap::{Access, Mapping, Protection};

const NAME: &str = r"Local\MyFileMappingObject";
const BUF_SIZE: u64 = 256;
const MESSAGE: &[u8] = b"Message from first process.";

fn first() -> filemap::Result<()> {
    let (map, _) = Mapping::options().name(NAME).size(BUF_SIZE).protection(Protection::ReadWrite).create()?;
    let view = map.view(Access::ALL)?;
    view.write_at(0, MESSAGE)?;
    println!("wrote {:?} to {NAME}; press Enter to exit", String::from_utf8_lossy(MESSAGE));
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    Ok(()) // dropping the view and the handle unmaps and closes, freeing the name
}

fn second() -> filemap::Result<()> {
    let map = Mapping::open(NAME, Access::ALL)?;
    let bytes = map.view(Access::ALL)?.read_vec(0, BUF_SIZE as usize)?;
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    println!("{}", String::from_utf8_lossy(text));
    Ok(())
}

fn main() {
    let result = match std::env::args().nth(1).as_deref() {
        Some("first") => first(),
        Some("second") => second(),
        _ => {
            eprintln!("usage: named_shared_memory first|second");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
