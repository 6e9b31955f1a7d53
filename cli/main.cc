#include <iostream>

#include "cli/eroomctl.h"

int main(int argc, char** argv) {
  return eroom::cli::RunEroomctl(argc, argv, std::cout, std::cerr);
}
