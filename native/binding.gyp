{
  "variables": {
    "libtorch%": "<!(node -p \"process.env.LIBTORCH || ''\")",
    "cxx11_abi%": "<!(node -p \"process.env.EXPNET_CXX11_ABI === '0' ? 0 : 1\")",
    "torch_cuda%": "<!(node -p \"const f=require('fs'),p=process.env.LIBTORCH;p&&f.existsSync(p+'/lib/libtorch_cuda.so')?'-ltorch_cuda':''\")",
    "dist%": "<!(node -p \"const f=require('fs'),p=process.env.LIBTORCH;process.env.EXPNET_DIST!=='0'&&f.existsSync((p?p+'/include':'/usr/include')+'/gloo/config.h')?1:0\")",
    "dist_shim%": "<!(node -p \"const f=require('fs'),p=process.env.LIBTORCH;f.existsSync((p?p+'/include':'/usr/include')+'/torch/csrc/distributed/autograd/context/context.h')?0:1\")",
    "nccl%": "<!(node -p \"const f=require('fs'),p=process.env.LIBTORCH;p&&f.existsSync(p+'/lib/libtorch_cuda.so')&&[p+'/include','/usr/include','/usr/local/cuda/include'].some(d=>f.existsSync(d+'/nccl.h'))?1:0\")"
  },
  "targets": [
    {
      "target_name": "expnet_native",
      "sources": [
        "src/addon.cc",
        "src/tensor.cc",
        "src/ops_math.cc",
        "src/ops_nn.cc",
        "src/program.cc",
        "src/optim.cc",
        "src/dist.cc",
        "src/distOptions.cc",
        "src/autocast.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GLIBCXX_USE_CXX11_ABI=<(cxx11_abi)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "conditions": [
        ["dist==1", {"defines": ["EXPNET_WITH_DIST", "USE_DISTRIBUTED", "USE_C10D_GLOO"]}],
        ["dist==1 and dist_shim==1", {"include_dirs": ["src/distShim"]}],
        ["dist==1 and nccl==1", {"defines": ["EXPNET_WITH_NCCL", "USE_C10D_NCCL"]}],
        ["libtorch==''", {
          "include_dirs": ["/usr/include/torch/csrc/api/include"],
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch)/include", "<(libtorch)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch)/lib", "-Wl,-rpath,<(libtorch)/lib", "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", "<(torch_cuda)", "-Wl,--as-needed"]
        }]
      ]
    }
  ]
}
