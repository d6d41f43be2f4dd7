// The op table: every ONNX operator ecoinfer runs, declared once. The
// registry (src/kernels/registry.cc), `ecoinfer info`, and the conformance
// runner's notion of "supported" all come from this list.
//
// X(OpType): the ONNX op type in the default domain. Its kernel factory is
// `create_<OpType>` (see src/kernels/kernel.h), defined in the family file
// named in the comment.
#pragma once

#define ECOINFER_OPS(X)                                                        \
  /* src/kernels/cpu/conv.cc, matmul.cc (oneDNN) */                            \
  X(Conv) X(ConvTranspose) X(MatMul) X(Gemm)                                   \
  /* src/kernels/ref/unary.cc */                                               \
  X(Relu) X(LeakyRelu) X(Sigmoid) X(HardSigmoid) X(HardSwish) X(Tanh) X(Erf)   \
  X(Gelu) X(Exp) X(Log) X(Sqrt) X(Neg) X(Reciprocal) X(Abs) X(Not) X(Clip)     \
  X(Cast) X(Floor) X(Ceil) X(Softplus) X(Elu)                                   \
  /* src/kernels/ref/binary.cc */                                              \
  X(Add) X(Sub) X(Mul) X(Div) X(Pow) X(PRelu) X(Equal) X(Less) X(Greater)      \
  X(LessOrEqual) X(GreaterOrEqual) X(And) X(Or) X(Xor) X(Where) X(Min) X(Max)  \
  X(Sum) X(Mean)                                                               \
  /* src/kernels/ref/shape_ops.cc */                                           \
  X(Reshape) X(Flatten) X(Squeeze) X(Unsqueeze) X(Shape) X(Size) X(Identity)   \
  X(Dropout) X(Expand) X(ConstantOfShape) X(Range)                             \
  /* src/kernels/ref/data_movement.cc */                                       \
  X(Transpose) X(Concat) X(Split) X(Slice) X(Gather) X(Pad) X(Tile)            \
  /* src/kernels/ref/reduce.cc */                                              \
  X(ReduceMean) X(ReduceSum) X(ReduceMax) X(ReduceMin) X(ReduceProd)           \
  X(ArgMax) X(ArgMin)                                                          \
  /* src/kernels/ref/normalize.cc */                                           \
  X(Softmax) X(LogSoftmax) X(LayerNormalization) X(BatchNormalization)         \
  X(InstanceNormalization)                                                     \
  /* src/kernels/ref/pool.cc, resize.cc */                                     \
  X(MaxPool) X(AveragePool) X(GlobalAveragePool) X(GlobalMaxPool) X(Resize)  \
  /* src/kernels/ref/quantize.cc, quant_matmul.cc, quant_conv.cc */           \
  X(QuantizeLinear) X(DequantizeLinear) X(DynamicQuantizeLinear)               \
  X(MatMulInteger) X(QLinearMatMul) X(ConvInteger) X(QLinearConv)

// Internal ops, in the domain "com.ecoinfer" only (src/passes/ creates them;
// a user model cannot reach them from the default domain). Same factory
// naming: `create_<OpType>`.
#define ECOINFER_INTERNAL_OPS(X)                                               \
  /* src/kernels/ref/fused_elementwise.cc */                                   \
  X(FusedElementwise)
