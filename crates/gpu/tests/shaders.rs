//! Every kernel's WGSL parses and validates with naga, and its uniform block has the size of the
//! optimizer crate's scalar struct that fills it.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::mem::size_of;

use stepwise_gpu::{Kernel, Width};
use stepwise_optim::{AdaBoundScalars, AdamScalars, RAdamScalars, SgdScalars};

fn validated(kernel: Kernel, width: Width) -> naga::Module {
    let source = kernel.source(width);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|err| panic!("{}: {}", kernel.file(), err.emit_to_string(&source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|err| panic!("{}: {}", kernel.file(), err.emit_to_string(&source)));
    module
}

#[test]
fn every_kernel_validates() {
    for kernel in Kernel::ALL {
        for width in [Width::Scalar, Width::Vec4] {
            let module = validated(kernel, width);
            assert!(
                module.entry_points.iter().any(|e| e.name == "main"),
                "{} ({width:?}) has a `main` entry point",
                kernel.file()
            );
        }
    }
}

#[test]
fn uniform_blocks_match_the_host_scalar_structs() {
    let cases = [
        (Kernel::Sgd, size_of::<SgdScalars>()),
        (Kernel::Adam, size_of::<AdamScalars>()),
        (Kernel::AdaBound, size_of::<AdaBoundScalars>()),
        (Kernel::RAdam, size_of::<RAdamScalars>()),
    ];
    for (kernel, host_size) in cases {
        let module = validated(kernel, Width::Vec4);
        let uniform = module
            .global_variables
            .iter()
            .find(|(_, var)| var.space == naga::AddressSpace::Uniform)
            .map(|(_, var)| var.ty)
            .unwrap_or_else(|| panic!("{} has a uniform block", kernel.file()));
        let naga::TypeInner::Struct { members, span } = &module.types[uniform].inner else {
            panic!("{}: the uniform block is a struct", kernel.file());
        };
        assert_eq!(
            *span as usize,
            host_size,
            "{}: size of the uniform block",
            kernel.file()
        );
        for (i, member) in members.iter().enumerate() {
            assert_eq!(
                member.offset as usize,
                4 * i,
                "{}: member {:?} is packed",
                kernel.file(),
                member.name
            );
        }
    }
}
