#include "tests/fuzz/proto_mutator.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/common.h"

// libFuzzer's own byte-level mutation: it knows the values the target
// compared its input against.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace eroom::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxDepth = 8;
constexpr size_t kMaxStringBytes = 8192;

// A field of the input message or of one of its submessages.
struct Site {
  Message* message;
  const FieldDescriptor* field;
};

void CollectSites(Message& message, int depth, std::vector<Site>& sites) {
  const Reflection* reflection = message.GetReflection();
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    sites.push_back({&message, field});
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        depth >= kMaxDepth) {
      continue;
    }
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
        CollectSites(*reflection->MutableRepeatedMessage(&message, field, j),
                     depth + 1, sites);
      }
    } else if (reflection->HasField(message, field)) {
      CollectSites(*reflection->MutableMessage(&message, field), depth + 1,
                   sites);
    }
  }
}

// Scalars of every type as 64 bits; `index` -1 for a singular field.
uint64_t GetBits(const Message& message, const FieldDescriptor* field,
                 int index) {
  const Reflection* r = message.GetReflection();
  const bool one = index < 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return static_cast<uint64_t>(
          one ? r->GetInt32(message, field)
              : r->GetRepeatedInt32(message, field, index));
    case FieldDescriptor::CPPTYPE_INT64:
      return static_cast<uint64_t>(
          one ? r->GetInt64(message, field)
              : r->GetRepeatedInt64(message, field, index));
    case FieldDescriptor::CPPTYPE_UINT32:
      return one ? r->GetUInt32(message, field)
                 : r->GetRepeatedUInt32(message, field, index);
    case FieldDescriptor::CPPTYPE_UINT64:
      return one ? r->GetUInt64(message, field)
                 : r->GetRepeatedUInt64(message, field, index);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return std::bit_cast<uint64_t>(
          one ? r->GetDouble(message, field)
              : r->GetRepeatedDouble(message, field, index));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return std::bit_cast<uint32_t>(
          one ? r->GetFloat(message, field)
              : r->GetRepeatedFloat(message, field, index));
    case FieldDescriptor::CPPTYPE_BOOL:
      return one ? r->GetBool(message, field)
                 : r->GetRepeatedBool(message, field, index);
    case FieldDescriptor::CPPTYPE_ENUM:
      return static_cast<uint64_t>(
          one ? r->GetEnumValue(message, field)
              : r->GetRepeatedEnumValue(message, field, index));
    default:
      return 0;
  }
}

void SetBits(Message& message, const FieldDescriptor* field, int index,
             uint64_t bits) {
  const Reflection* r = message.GetReflection();
  const bool one = index < 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      const auto v = static_cast<int32_t>(bits);
      one ? r->SetInt32(&message, field, v)
          : r->SetRepeatedInt32(&message, field, index, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const auto v = static_cast<int64_t>(bits);
      one ? r->SetInt64(&message, field, v)
          : r->SetRepeatedInt64(&message, field, index, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const auto v = static_cast<uint32_t>(bits);
      one ? r->SetUInt32(&message, field, v)
          : r->SetRepeatedUInt32(&message, field, index, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT64:
      one ? r->SetUInt64(&message, field, bits)
          : r->SetRepeatedUInt64(&message, field, index, bits);
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const auto v = std::bit_cast<double>(bits);
      one ? r->SetDouble(&message, field, v)
          : r->SetRepeatedDouble(&message, field, index, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const auto v = std::bit_cast<float>(static_cast<uint32_t>(bits));
      one ? r->SetFloat(&message, field, v)
          : r->SetRepeatedFloat(&message, field, index, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      one ? r->SetBool(&message, field, bits & 1)
          : r->SetRepeatedBool(&message, field, index, bits & 1);
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto v = static_cast<int>(bits);
      one ? r->SetEnumValue(&message, field, v)
          : r->SetRepeatedEnumValue(&message, field, index, v);
      return;
    }
    default:
      return;
  }
}

// Appends a default element to a repeated scalar or string field.
void AddDefault(Message& message, const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return r->AddInt32(&message, field, 0);
    case FieldDescriptor::CPPTYPE_INT64:
      return r->AddInt64(&message, field, 0);
    case FieldDescriptor::CPPTYPE_UINT32:
      return r->AddUInt32(&message, field, 0);
    case FieldDescriptor::CPPTYPE_UINT64:
      return r->AddUInt64(&message, field, 0);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r->AddDouble(&message, field, 0);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return r->AddFloat(&message, field, 0);
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->AddBool(&message, field, false);
    case FieldDescriptor::CPPTYPE_ENUM:
      return r->AddEnumValue(&message, field, 0);
    case FieldDescriptor::CPPTYPE_STRING:
      return r->AddString(&message, field, "");
    case FieldDescriptor::CPPTYPE_MESSAGE:
      r->AddMessage(&message, field);
      return;
  }
}

class Mutator {
 public:
  explicit Mutator(unsigned int seed) : random_(seed) {}

  size_t Below(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(random_);
  }
  bool OneIn(size_t n) { return Below(n) == 0; }

  void MutateOneField(Message& root) {
    std::vector<Site> sites;
    CollectSites(root, 0, sites);
    if (sites.empty()) return;
    const Site site = sites[Below(sites.size())];
    Message& message = *site.message;
    const FieldDescriptor* field = site.field;
    const Reflection* reflection = message.GetReflection();
    if (field->is_repeated()) {
      const int count = reflection->FieldSize(message, field);
      if (count > 0 && OneIn(3)) {
        MutateElement(message, field, static_cast<int>(Below(count)));
      } else if (count > 0 && OneIn(2)) {
        reflection->SwapElements(&message, field,
                                 static_cast<int>(Below(count)), count - 1);
        reflection->RemoveLast(&message, field);
      } else {
        AddDefault(message, field);
        // A changed copy of a sibling is more like what agents send.
        if (count > 0 && OneIn(2)) {
          CopySibling(message, field, static_cast<int>(Below(count)));
        }
        MutateElement(message, field, count);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // Setting an unset member of a oneof switches the oneof to it.
      if (reflection->HasField(message, field) && OneIn(3)) {
        reflection->ClearField(&message, field);
      } else {
        reflection->MutableMessage(&message, field);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      std::string value = reflection->GetString(message, field);
      MutateString(value);
      reflection->SetString(&message, field, std::move(value));
    } else {
      SetBits(message, field, -1,
              MutateNumber(field, GetBits(message, field, -1)));
    }
  }

 private:
  // Makes the last element of `field` a copy of element `sibling`.
  void CopySibling(Message& message, const FieldDescriptor* field,
                   int sibling) {
    const Reflection* reflection = message.GetReflection();
    const int last = reflection->FieldSize(message, field) - 1;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      reflection->MutableRepeatedMessage(&message, field, last)
          ->CopyFrom(reflection->GetRepeatedMessage(message, field, sibling));
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      reflection->SetRepeatedString(
          &message, field, last,
          reflection->GetRepeatedString(message, field, sibling));
    } else {
      SetBits(message, field, last, GetBits(message, field, sibling));
    }
  }

  void MutateElement(Message& message, const FieldDescriptor* field,
                     int index) {
    const Reflection* reflection = message.GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        // Its fields are sites of their own; here it starts over.
        if (OneIn(4)) {
          reflection->MutableRepeatedMessage(&message, field, index)->Clear();
        }
        return;
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string value =
            reflection->GetRepeatedString(message, field, index);
        MutateString(value);
        reflection->SetRepeatedString(&message, field, index, std::move(value));
        return;
      }
      default:
        SetBits(message, field, index,
                MutateNumber(field, GetBits(message, field, index)));
    }
  }

  // An interesting value, a nudge, or libFuzzer's byte mutation.
  uint64_t MutateNumber(const FieldDescriptor* field, uint64_t bits) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_BOOL:
        return bits ^ 1;
      case FieldDescriptor::CPPTYPE_ENUM:
        // Unknown values too: proto3 enums keep them.
        return static_cast<uint64_t>(
            static_cast<int64_t>(Below(field->enum_type()->value_count() + 3)) -
            1);
      default:
        break;
    }
    const bool floating =
        field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ||
        field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT;
    switch (Below(3)) {
      case 0:
        return floating ? InterestingDouble(field) : InterestingInteger();
      case 1:
        if (floating) return InterestingDouble(field);
        return bits +
               static_cast<uint64_t>(static_cast<int64_t>(Below(33)) - 16);
      default: {
        uint8_t bytes[sizeof(bits)];
        std::memcpy(bytes, &bits, sizeof(bits));
        LLVMFuzzerMutate(bytes, sizeof(bytes), sizeof(bytes));
        std::memcpy(&bits, bytes, sizeof(bits));
        return bits;
      }
    }
  }

  uint64_t InterestingInteger() {
    static constexpr int64_t kValues[] = {
        0,
        1,
        -1,
        2,
        1000,
        std::numeric_limits<int32_t>::max(),
        std::numeric_limits<int32_t>::min(),
        int64_t{1} << 32,
        std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min(),
        1750000000000,  // A time in milliseconds.
    };
    return static_cast<uint64_t>(kValues[Below(std::size(kValues))]);
  }

  uint64_t InterestingDouble(const FieldDescriptor* field) {
    static constexpr double kValues[] = {
        0.0,
        -0.0,
        1.0,
        -1.0,
        100.0,
        std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::max(),
        std::numeric_limits<double>::denorm_min(),
    };
    const double value = kValues[Below(std::size(kValues))];
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
      return std::bit_cast<uint32_t>(static_cast<float>(value));
    }
    return std::bit_cast<uint64_t>(value);
  }

  void MutateString(std::string& value) {
    switch (Below(3)) {
      case 0: {
        // Lengths at and around the limits a receiver enforces.
        static constexpr size_t kLengths[] = {0,    1,    63,   64,   65,  127,
                                              128,  129,  252,  253,  254, 1023,
                                              1024, 1025, 4095, 4096, 4097};
        const size_t length = kLengths[Below(std::size(kLengths))];
        const std::string unit = value.empty() ? "a" : value;
        value.clear();
        while (value.size() < length) value += unit;
        value.resize(length);
        break;
      }
      case 1: {
        static constexpr const char* kValues[] = {"",
                                                  " ",
                                                  "\n",
                                                  "a b",
                                                  "-",
                                                  ".",
                                                  "room_0123abcd",
                                                  "events_dropped",
                                                  "\x1b[31m",
                                                  "호스트",
                                                  "$(id)",
                                                  "../../etc/passwd"};
        value = kValues[Below(std::size(kValues))];
        break;
      }
      default: {
        const size_t size = value.size();
        const size_t max = std::min(kMaxStringBytes, size * 2 + 16);
        value.resize(max);
        value.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(value.data()),
                                      size, max));
      }
    }
    // The parser refuses invalid UTF-8 in a string field, so such a mutant
    // tests only that: mostly keep it valid.
    if (!OneIn(4) &&
        !google::protobuf::internal::IsStructurallyValidUTF8(value)) {
      for (char& c : value) c = static_cast<char>(c & 0x7f);
    }
  }

  std::minstd_rand random_;
};

}  // namespace

size_t MutateSerializedMessage(Message& scratch, uint8_t* data, size_t size,
                               size_t max_size, unsigned int seed) {
  Mutator mutator(seed);
  scratch.Clear();
  if (mutator.OneIn(8) ||
      !scratch.ParseFromArray(data, static_cast<int>(size))) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  for (size_t n = 1 + mutator.Below(3); n > 0; --n) {
    mutator.MutateOneField(scratch);
  }
  std::string mutated;
  if (!scratch.SerializeToString(&mutated) || mutated.size() > max_size) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  std::memcpy(data, mutated.data(), mutated.size());
  return mutated.size();
}

}  // namespace eroom::fuzz
