#include "core/model.h"

namespace pare {

const Attribute* Node::FindAttribute(const std::string& attr_name) const {
  for (const Attribute& attr : attributes) {
    if (attr.name == attr_name) return &attr;
  }
  return nullptr;
}

}  // namespace pare
