/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the lessons'
 * Windows builds under Wine 8 only (tools/wine-check). Never shipped.
 *
 * Since Rust 1.78 the standard library gets random bytes (for HashMap's
 * seeds) from ProcessPrng in bcryptprimitives.dll, which Windows 10 and
 * later have and Wine 8 lacks (Wine 9 has it). Without this file every
 * Rust program built for Windows stops at once under Wine 8 with
 * "Library bcryptprimitives.dll ... not found".
 *
 * ProcessPrng fills the buffer from RtlGenRandom (SystemFunction036 in
 * advapi32), which Wine has, in chunks that fit its ULONG length.
 *
 * Built by tools/wine-check:
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
