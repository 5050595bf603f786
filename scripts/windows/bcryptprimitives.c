/*
 * Stand-in bcryptprimitives.dll for running Go 1.22+ Windows binaries under Wine 8
 * (Debian 12), whose Wine has no bcryptprimitives.dll!ProcessPrng. Go's runtime
 * loads it at start and aborts without it. Test use only: installed into a
 * throwaway Wine prefix by scripts/windows/wine-test.sh, never shipped.
 *
 * ProcessPrng fills the buffer from advapi32's RtlGenRandom (SystemFunction036),
 * which Wine has, in chunks that fit its ULONG length.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
