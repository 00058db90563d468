//! ResNets for CIFAR-sized images in burn.
//!
//! The CIFAR form of ResNet (as in the widely used `pytorch-cifar` models): a 3x3 stem convolution
//! at stride 1 and no max-pool, residual stages, global average pooling and a linear head. Named
//! architectures ([`Arch`]) range from He et al.'s ResNet-8 (78 k parameters, for browsers) to the
//! study's ResNet-50 (23,520,842 parameters for 10 classes).
//!
//! Initial weights come from a seed, drawn on the host ([`HostInit`]) as PyTorch draws its default
//! initialisation, so that one seed gives one network on every backend. Batch norm follows PyTorch
//! ([`BatchNorm2d`]): batch statistics on an autodiff device, running statistics elsewhere.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use stepwise_model::{Arch, ResNet};
//!
//! let device = Device::flex();
//! let config = Arch::ResNet8.config(10);
//! let model = ResNet::new(&config, 42, &device).unwrap();
//! let logits = model.forward(Tensor::zeros([2, 3, 32, 32], &device));
//! assert_eq!(logits.dims(), [2, 10]);
//! ```

mod arch;
mod init;
mod norm;
mod resnet;
mod summary;

pub use arch::{Arch, BlockKind, ModelError, ResNetConfig, StageConfig};
pub use init::HostInit;
pub use norm::BatchNorm2d;
pub use resnet::{ConvBn, ResNet, Residual, Stage};
pub use summary::{Summary, SummaryRow, thousands};
