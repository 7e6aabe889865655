#ifndef XAXIDMA_H_
#define XAXIDMA_H_
#include "xil_types.h"
#define XAXIDMA_DMA_TO_DEVICE 0x00
#define XAXIDMA_DEVICE_TO_DMA 0x01
#define XAXIDMA_IRQ_IOC_MASK 0x00001000
#define XAXIDMA_IRQ_DELAY_MASK 0x00002000
#define XAXIDMA_IRQ_ERROR_MASK 0x00004000
#define XAXIDMA_IRQ_ALL_MASK 0x00007000
typedef struct { u32 DeviceId; UINTPTR BaseAddr; int HasStsCntrlStrm; int HasMm2S; int HasMm2SDRE; int Mm2SDataWidth;
                 int HasS2Mm; int HasS2MmDRE; int S2MmDataWidth; int HasSg; int Mm2sNumChannels; int S2MmNumChannels;
                 int Mm2SBurstSize; int S2MmBurstSize; int MicroDmaMode; int AddrWidth; int SgLengthWidth; } XAxiDma_Config;
typedef struct { UINTPTR RegBase; int HasMm2S; int HasS2Mm; int Initialized; int HasSg; int MicroDmaMode;
                 int AddrWidth; } XAxiDma;
XAxiDma_Config *XAxiDma_LookupConfig(u32 DeviceId);
XAxiDma_Config *XAxiDma_LookupConfigBaseAddr(UINTPTR Baseaddr);
int XAxiDma_CfgInitialize(XAxiDma *InstancePtr, XAxiDma_Config *Config);
u32 XAxiDma_SimpleTransfer(XAxiDma *InstancePtr, UINTPTR BuffAddr, u32 Length, int Direction);
u32 XAxiDma_Busy(XAxiDma *InstancePtr, int Direction);
void XAxiDma_IntrDisable(XAxiDma *InstancePtr, u32 Mask, int Direction);
#define XAxiDma_HasSg(InstancePtr) ((InstancePtr)->HasSg) ? TRUE : FALSE
#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif
#endif
