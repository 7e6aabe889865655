/* The BSP functions main.c calls, simulated on a PC (see README.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xaxidma.h"
#include "xgpiops.h"
#include "xil_cache.h"
#include "xil_io.h"
#include "xil_printf.h"
#include "xtime_l.h"
#include "host_config.h"
#include "host_logic.h"

int pyc_kernel_run(const uint32_t *in_words, uint32_t *out_words);

static XAxiDma_Config dma_config = {0, PYC_DMA_BASEADDR, 0, 1, 0, 32, 1, 0, 32, 0, 1, 1, 16, 16, 0, 32, 23};
static XGpioPs_Config gpio_config = {0, 0xE000A000u};
static uint32_t *s2mm_dest;
static u32 s2mm_len;
static int hung, transfers, kernel_started;
static XTime now;
static u32 leds;
#if PYC_DDR_WEIGHTS
static const u32 weights_regs[PYC_WEIGHT_PORTS] = PYC_KERNEL_WEIGHTS_REGS;
static const u32 weights_offsets[PYC_WEIGHT_PORTS] = PYC_WEIGHT_OFFSETS;
static u32 weights_ptr[PYC_WEIGHT_PORTS];  /* what main.c wrote into each of the kernel's weight-pointer registers */
#endif

XAxiDma_Config *XAxiDma_LookupConfig(u32 DeviceId) { return DeviceId == 0 ? &dma_config : NULL; }
XAxiDma_Config *XAxiDma_LookupConfigBaseAddr(UINTPTR Baseaddr) { return Baseaddr == dma_config.BaseAddr ? &dma_config : NULL; }
int XAxiDma_CfgInitialize(XAxiDma *d, XAxiDma_Config *c) {
    memset(d, 0, sizeof *d);
    d->RegBase = c->BaseAddr; d->HasMm2S = c->HasMm2S; d->HasS2Mm = c->HasS2Mm; d->HasSg = c->HasSg; d->Initialized = 1;
    return XST_SUCCESS;
}
void XAxiDma_IntrDisable(XAxiDma *d, u32 Mask, int Direction) { (void)d; (void)Mask; (void)Direction; }
u32 XAxiDma_SimpleTransfer(XAxiDma *d, UINTPTR addr, u32 len, int dir) {
    static uint32_t out[PYC_OUTPUT_WORDS];
    const char *fail = getenv("SIM_FAIL_IMAGE");
    if (!d->Initialized || len % 4u != 0u) return XST_FAILURE;
    if (dir == XAXIDMA_DEVICE_TO_DMA) {
        s2mm_dest = (uint32_t *)addr; s2mm_len = len;
        return XST_SUCCESS;
    }
    if (!kernel_started || len != PYC_INPUT_WORDS * 4u || s2mm_dest == NULL) return XST_FAILURE;
#if PYC_DDR_WEIGHTS
    for (u32 k = 0; k < PYC_WEIGHT_PORTS; k++)  /* a wrong pointer: the kernel would read the wrong DDR */
        if (weights_ptr[k] != (u32)(UINTPTR)(pyc_weight_image + weights_offsets[k])) return XST_FAILURE;
#endif
    if (fail && atoi(fail) == transfers++) { hung = 1; return XST_SUCCESS; }
    if (pyc_kernel_run((const uint32_t *)addr, out) != 0) return XST_FAILURE;
    memcpy(s2mm_dest, out, s2mm_len < sizeof out ? s2mm_len : sizeof out);
    s2mm_dest = NULL;
    return XST_SUCCESS;
}
u32 XAxiDma_Busy(XAxiDma *d, int dir) { (void)d; return hung && dir == XAXIDMA_DMA_TO_DEVICE; }

XGpioPs_Config *XGpioPs_LookupConfig(u16 DeviceId) { return DeviceId == 0 ? &gpio_config : NULL; }
s32 XGpioPs_CfgInitialize(XGpioPs *g, const XGpioPs_Config *c, u32 a) { g->GpioConfig = *c; (void)a; g->IsReady = 1; return XST_SUCCESS; }
void XGpioPs_SetDirectionPin(const XGpioPs *g, u32 p, u32 v) { (void)g; (void)p; (void)v; }
void XGpioPs_SetOutputEnablePin(const XGpioPs *g, u32 p, u32 v) { (void)g; (void)p; (void)v; }
void XGpioPs_WritePin(const XGpioPs *g, u32 pin, u32 v) {
    (void)g;
    leds = (leds & ~(1u << (pin - 54u))) | ((v & 1u) << (pin - 54u));
    fprintf(stderr, "LEDS %u\n", leds);
}

void Xil_Out32(UINTPTR a, u32 v) {
    if (a == PYC_KERNEL_BASEADDR && (v & 0x81u) == 0x81u) kernel_started = 1;
#if PYC_DDR_WEIGHTS
    for (u32 k = 0; k < PYC_WEIGHT_PORTS; k++)
        if (a == PYC_KERNEL_BASEADDR + weights_regs[k] && !kernel_started) weights_ptr[k] = v;
#endif
}
u32 Xil_In32(UINTPTR a) { (void)a; return 0; }
void Xil_DCacheFlushRange(UINTPTR a, u32 n) { (void)a; (void)n; }
void Xil_DCacheInvalidateRange(UINTPTR a, u32 n) { (void)a; (void)n; }
void XTime_GetTime(XTime *t) { now += 3333; *t = now; } /* 3333 counts at 333.33 MHz: 1000 PL cycles per image */
void xil_printf(const char8 *fmt, ...) { va_list ap; va_start(ap, fmt); vprintf(fmt, ap); va_end(ap); }
