"""Segmentation metrics: the official Dual-SAM mIoU and the field-standard SOD metrics via pysodmetrics."""
from .miou import MeanIoU, official_iou
from .prepare import gt_to_binary, pred_to_uint8, resize_pred
from .sod import SODMetrics

__all__ = ["MeanIoU", "SODMetrics", "gt_to_binary", "official_iou", "pred_to_uint8", "resize_pred"]
