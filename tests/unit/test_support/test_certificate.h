#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_TEST_CERTIFICATE_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_TEST_CERTIFICATE_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "absl/time/time.h"

namespace eroom::test_support {

// A self-signed certificate for "CN=<common_name>" and its private key, as
// PEM, valid from `not_before` to `not_after` (which may lie in the past or
// the future: what the openssl tool cannot make).
struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

inline TestCertificate MakeTestCertificate(const std::string& common_name,
                                           absl::Time not_before,
                                           absl::Time not_after) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                          &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (key == nullptr || cert == nullptr) {
    throw std::runtime_error("OpenSSL could not make a key or certificate");
  }
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("OpenSSL could not sign the certificate");
  }
  auto to_pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()),
                                                  &BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, size);
  };
  return TestCertificate{
      .cert_pem =
          to_pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert.get()); }),
      .key_pem = to_pem([&](BIO* bio) {
        PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr,
                                 nullptr);
      })};
}

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_TEST_CERTIFICATE_H_
