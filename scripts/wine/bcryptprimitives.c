/*
 * A stand-in bcryptprimitives.dll for Wine 8, which lacks it: Go's runtime (1.24+) draws its
 * randomness from ProcessPrng there, as on Windows 10+, which has the real one. Built with zig
 * and put into the test prefix's system32 by scripts/test-wine.js; never shipped.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}
