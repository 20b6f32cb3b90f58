// TrainStep's gradient-sync option, { bucketMb, findUnused } (declared in dist.h).
#include "dist.h"

namespace expnet {

GradSyncOptions gradSyncOptionsFrom(const Napi::Value& v) {
  GradSyncOptions o;
  if (!v.IsObject()) return o;
  Napi::Object obj = v.As<Napi::Object>();
  Napi::Value mb = obj.Get("bucketMb");
  if (mb.IsNumber()) o.bucketMb = mb.As<Napi::Number>().DoubleValue();
  if (!(o.bucketMb > 0)) throw Napi::RangeError::New(v.Env(), "gradient sync: bucketMb must be > 0");
  Napi::Value fu = obj.Get("findUnused");
  o.findUnused = fu.IsBoolean() && fu.As<Napi::Boolean>().Value();
  return o;
}

}  // namespace expnet
