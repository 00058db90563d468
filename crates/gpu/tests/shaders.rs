//! Every kernel's WGSL parses and validates with naga at every width and scalar placement, and its
//! scalar block, bound after the storage buffers, has the layout of the optimizer crate's scalar
//! struct that fills it.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::mem::size_of;

use stepwise_gpu::{Kernel, Scalars, Shader, Width};
use stepwise_optim::{AdaBoundScalars, AdamScalars, RAdamScalars, SgdScalars};

fn validated(shader: Shader, width: Width, scalars: Scalars) -> naga::Module {
    let source = shader.source(width, scalars);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|err| panic!("{}: {}", shader.file, err.emit_to_string(&source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|err| panic!("{}: {}", shader.file, err.emit_to_string(&source)));
    module
}

#[test]
fn every_kernel_validates() {
    for shader in Kernel::ALL.map(Kernel::shader) {
        for width in Width::ALL {
            for scalars in Scalars::ALL {
                let module = validated(shader, width, scalars);
                assert!(
                    module.entry_points.iter().any(|e| e.name == "main"),
                    "{} ({width:?}, {scalars:?}) has a `main` entry point",
                    shader.file
                );
            }
        }
    }
}

/// The scalar block `module` declares: its binding and its struct type (the element type for an
/// array of blocks), with the array's stride.
fn scalar_block(module: &naga::Module, file: &str) -> (u32, naga::Handle<naga::Type>, Option<u32>) {
    let (binding, ty) = module
        .global_variables
        .iter()
        .find(|(_, var)| {
            matches!(
                var.space,
                naga::AddressSpace::Uniform
                    | naga::AddressSpace::Storage {
                        access: naga::StorageAccess::LOAD
                    }
            )
        })
        .map(|(_, var)| (var.binding.as_ref().map(|b| b.binding), var.ty))
        .unwrap_or_else(|| panic!("{file} has a scalar block"));
    let binding = binding.unwrap_or_else(|| panic!("{file}: the block is bound"));
    match module.types[ty].inner {
        naga::TypeInner::Array { base, stride, .. } => (binding, base, Some(stride)),
        _ => (binding, ty, None),
    }
}

#[test]
fn scalar_blocks_match_the_host_scalar_structs() {
    let cases = [
        (Kernel::Sgd, size_of::<SgdScalars>()),
        (Kernel::Adam, size_of::<AdamScalars>()),
        (Kernel::AdaBound, size_of::<AdaBoundScalars>()),
        (Kernel::RAdam, size_of::<RAdamScalars>()),
    ];
    for (kernel, host_size) in cases {
        let shader = kernel.shader();
        for scalars in Scalars::ALL {
            let module = validated(shader, Width::Vec4, scalars);
            let (binding, block, stride) = scalar_block(&module, shader.file);
            assert_eq!(
                binding, shader.storage_bindings,
                "{}: the block follows the storage buffers",
                shader.file
            );
            assert_eq!(
                stride.map(|s| s as usize),
                (scalars == Scalars::PerIndex).then_some(host_size),
                "{} ({scalars:?}): one host struct per array element",
                shader.file
            );
            let naga::TypeInner::Struct { members, span } = &module.types[block].inner else {
                panic!("{}: the scalar block is a struct", shader.file);
            };
            assert_eq!(
                *span as usize, host_size,
                "{}: size of the scalar block",
                shader.file
            );
            for (i, member) in members.iter().enumerate() {
                assert_eq!(
                    member.offset as usize,
                    4 * i,
                    "{}: member {:?} is packed",
                    shader.file,
                    member.name
                );
            }
        }
    }
}
